"""REST routes of user care: the complaint ledger, tasks for people (callbacks, follow-ups), and
a survey answer an agent took on the phone."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Connection

from server.api import DESK, _actor, _json_object, _known_fields, _require
from server.errors import ApiError
from ticketing import complaints, queries, surveys, tasks
from ticketing.fields import InvalidField, check_text
from ticketing.orm import Complaint, WorkOrder
from ticketing.workflow import TicketNotFound

routes = web.RouteTableDef()
_COMPLAINT_NO = re.compile(r"^TS([0-9]{1,9})$")  # ids are 32-bit integers
_WO = WorkOrder.__table__
_C = Complaint.__table__


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ApiError(400, "missing_field", field=name)
        return None
    return check_text(name, value, limit)


def _ticket_id(conn: Connection, ticket_no: str) -> int:
    found = queries.ticket_id_of(conn, ticket_no)
    if found is None:
        raise TicketNotFound(ticket_no)
    return found


def _complaint_id(value: str) -> int:
    match = _COMPLAINT_NO.match(value)
    if match is None:  # say what was asked for, not a made-up number
        raise ApiError(404, "complaint_not_found", complaint=value[:40])
    return int(match.group(1))


@routes.get("/api/v1/complaints")
async def list_complaints(request: web.Request) -> web.Response:
    """投诉台账: every complaint, or those in one status or about one ticket."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    where = []
    status = request.query.get("status")
    if status is not None:
        if status not in complaints.STATUSES:
            raise InvalidField("status", "应为 " + " / ".join(complaints.STATUSES))
        where.append(_C.c.status == status)
    ticket_no = request.query.get("ticket_no")
    if ticket_no is not None:
        where.append(_WO.c.ticket_no == ticket_no)
    rows = await desk.transact(lambda conn: complaints.listing(conn, *where))
    return web.json_response({"items": [c.as_json() for c in rows]})


@routes.post("/api/v1/tickets/{ticket_no}/complaints")
async def file_complaint(request: web.Request) -> web.Response:
    """An agent enters a complaint the user made (by phone, in person) about a ticket."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, {"summary", "owner"})
    summary = _text(body, "summary", 4000, required=True)
    owner = _text(body, "owner", 100)
    ticket_no = request.match_info["ticket_no"]

    def work(conn: Connection) -> list[complaints.ComplaintView]:
        ticket_id = _ticket_id(conn, ticket_no)
        complaint_id = complaints.file(desk, conn, ticket_id, "agent", summary or "", actor.name,
                                       desk.clock(), owner=owner)
        return complaints.listing(conn, _C.c.id == complaint_id)

    (view,) = await desk.transact(work)
    return web.json_response(view.as_json(), status=201)


@routes.post("/api/v1/complaints/{complaint_no}/transitions")
async def move_complaint(request: web.Request) -> web.Response:
    """One step of a complaint: investigating (owner), remedied (remedy, told to the user),
    confirmed (the user accepts; note: their words), back to investigating (they do not)."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, {"to", "owner", "remedy", "note"})
    target = _text(body, "to", 20, required=True)
    if target not in complaints.STATUSES:
        raise InvalidField("to", "应为 " + " / ".join(complaints.STATUSES))
    owner, remedy, note = (_text(body, "owner", 100), _text(body, "remedy", 4000),
                           _text(body, "note", 4000))
    complaint_id = _complaint_id(request.match_info["complaint_no"])

    def work(conn: Connection) -> list[complaints.ComplaintView]:
        complaints.move(desk, conn, complaint_id, target, actor.name, desk.clock(),
                        owner=owner, remedy=remedy, note=note)
        return complaints.listing(conn, _C.c.id == complaint_id)

    (view,) = await desk.transact(work)
    return web.json_response(view.as_json())


@routes.get("/api/v1/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    """Calls to make: survey callbacks, follow-ups (回访), complaint confirmations."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    status = request.query.get("status", "open")
    if status not in ("open", "done", "all"):
        raise InvalidField("status", "应为 open / done / all")
    kind = request.query.get("kind")
    if kind is not None and kind not in tasks.KINDS:
        raise InvalidField("kind", "应为 " + " / ".join(tasks.KINDS))
    role = request.query.get("role")
    if role is not None and role not in ("agent", "supervisor"):
        raise InvalidField("role", "应为 agent / supervisor")
    rows = await desk.transact(lambda conn: tasks.listing(
        conn, status=None if status == "all" else status, kind=kind, role=role))
    return web.json_response({"items": [t.as_json() for t in rows]})


@routes.post("/api/v1/tasks/{task_id}/done")
async def finish_task(request: web.Request) -> web.Response:
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, {"note"})
    note = _text(body, "note", 4000)
    raw = request.match_info["task_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:  # "²" is a digit to isdigit
        raise ApiError(404, "task_not_found", task=raw[:40])
    view = await desk.transact(lambda conn: tasks.complete(conn, int(raw), actor.name, note,
                                                          desk.clock()))
    return web.json_response(view.as_json())


@routes.post("/api/v1/tickets/{ticket_no}/survey")
async def answer_survey(request: web.Request) -> web.Response:
    """The answer a hotline user gave an agent on the survey callback."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, {"satisfaction", "comment"})
    satisfaction = _text(body, "satisfaction", 20, required=True)
    if satisfaction not in surveys.SCALE:
        raise InvalidField("satisfaction", "应为 " + " / ".join(surveys.SCALE))
    comment = _text(body, "comment", 4000)
    ticket_no = request.match_info["ticket_no"]

    def work(conn: Connection) -> None:
        _ticket_id(conn, ticket_no)
        surveys.record_by_agent(desk, conn, ticket_no, satisfaction, comment, actor.name,
                                desk.clock())

    await desk.transact(work)
    return web.json_response({"ticket_no": ticket_no, "satisfaction": satisfaction,
                              "comment": comment})
