"""REST routes of responsibility: transfer requests and answers, and deciding the primary."""

from __future__ import annotations

from aiohttp import web

from server.api import DESK, _actor, _json_object, _require, _ticket_response
from server.errors import ApiError
from ticketing import transfers
from ticketing.workflow import Actor

routes = web.RouteTableDef()


def _text(body: dict[str, object], name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "missing_field", field=name)
    return value.strip()


async def _refusable(coro: object) -> None:
    try:
        await coro  # type: ignore[misc]
    except transfers.TransferRefused as exc:
        raise ApiError(409, "transfer_refused", message=exc.message) from None


@routes.post("/api/v1/tickets/{ticket_no}/transfer")
async def request_transfer(request: web.Request) -> web.Response:
    """The primary company asks another to take the ticket: {"to_vendor": …, "reason": …}."""
    actor = _actor(request)
    _require(actor, "vendor", "agent", "supervisor")
    body = await _json_object(request)
    no = request.match_info["ticket_no"]
    await _refusable(transfers.request_transfer(
        request.app[DESK], no, actor, _text(body, "to_vendor"), _text(body, "reason")))
    return await _ticket_response(request.app[DESK], no, actor, status=202)


@routes.post("/api/v1/tickets/{ticket_no}/transfer/{answer:accept|refuse}")
async def answer_transfer(request: web.Request) -> web.Response:
    """The company asked answers: accept (it becomes primary) or refuse (with a reason)."""
    actor = _actor(request)
    _require(actor, "vendor", "supervisor")
    body = await _json_object(request)
    accept = request.match_info["answer"] == "accept"
    note = _text(body, "reason", required=not accept)
    no = request.match_info["ticket_no"]
    await _refusable(transfers.answer_transfer(request.app[DESK], no, actor, accept, note))
    # the answering company may no longer see the ticket once it refused: answer as staff
    viewer = actor if accept else Actor(actor.name, "agent")
    return await _ticket_response(request.app[DESK], no, viewer)


@routes.post("/api/v1/tickets/{ticket_no}/responsibility")
async def decide(request: web.Request) -> web.Response:
    """Pick the primary company: the agent in a first-inquiry case, a supervisor (liaison,
    bureau arbitration) at any time. {"vendor": …, "note": …}"""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    body = await _json_object(request)
    no = request.match_info["ticket_no"]
    await _refusable(transfers.decide_responsibility(
        request.app[DESK], no, actor, _text(body, "vendor"),
        _text(body, "note", required=False)))
    return await _ticket_response(request.app[DESK], no, actor)
