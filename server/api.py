"""REST API under /api/v1: work orders by their field ids, bearer tokens with roles."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import text

from classifier.triage import CATEGORIES, LEVELS
from server.errors import ApiError
from ticketing import queries, workflow
from ticketing.access import authenticate
from ticketing.corrections import CORRECTABLE, correct_triage
from ticketing.desk import Desk
from ticketing.fields import EARLIEST, LATEST, SETTABLE_AT_INTAKE, InvalidField, check_text
from ticketing.group_commit import GroupCommitter
from ticketing.lifecycle import Status
from ticketing.model import Inbound, Sender
from ticketing.workflow import Actor

DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
INTAKE: web.AppKey[GroupCommitter] = web.AppKey("intake", GroupCommitter)
ACTOR: web.RequestKey[Actor] = web.RequestKey("actor", Actor)

MAX_PER_PAGE = 200
# what a vendor may do to its own tickets; closing and reopening belong to the user's side
VENDOR_TARGETS = frozenset({Status.ACCEPTED, Status.RESPONDED, Status.ONSITE, Status.RESOLVED})

routes = web.RouteTableDef()


@web.middleware
async def auth_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if "\x00" in request.path or "\x00" in request.query_string:
        raise ApiError(400, "invalid_value", field="path", detail="含有空字符（NUL）")
    if not request.path.startswith("/api/") or request.path == "/api/v1/openapi.json":
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized")
    desk = request.app[DESK]
    async with desk.sessions() as session:
        actor = await authenticate(session, token.strip())
    if actor is None:
        raise ApiError(401, "unauthorized")
    request[ACTOR] = actor
    return await handler(request)


def _actor(request: web.Request) -> Actor:
    return request[ACTOR]


def _require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise ApiError(403, "forbidden", role=actor.role)


def _known_fields(given: Iterable[str], allowed: Collection[str]) -> None:
    """400 unknown_field for the first name the route does not take."""
    for name in given:
        if name not in allowed:
            raise ApiError(400, "unknown_field", field=name)


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", detail=str(exc)) from None
    if not isinstance(body, dict):
        raise ApiError(400, "body_not_object")
    if _has_nul(body):  # PostgreSQL cannot store it; no person types it
        raise ApiError(400, "invalid_value", field="body", detail="含有空字符（NUL）")
    return body


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _parse_iso(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidField(name, "应为 ISO 8601 时间文本")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidField(name, "应为 ISO 8601 时间，例如 2026-11-27T09:30:00+08:00") from None
    if parsed.tzinfo is None:
        raise InvalidField(name, "时间必须带时区，例如 +08:00")
    if not EARLIEST <= parsed.year <= LATEST:
        raise InvalidField(name, f"年份应在 {EARLIEST}–{LATEST} 之间")
    return parsed


def _timestamp(name: str, value: Any, now: datetime) -> datetime:
    """A client-supplied moment: ISO 8601 with a zone, not in the future."""
    parsed = _parse_iso(name, value)
    if parsed > now + timedelta(minutes=5):
        raise InvalidField(name, "不能是将来的时间")
    return parsed


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    async with desk.sessions() as session:
        await session.execute(text("SELECT 1"))
    return web.json_response({"status": "ok"})


@routes.post("/api/v1/tickets")
async def create_ticket(request: web.Request) -> web.Response:
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    description = body.pop("description", None)
    if not isinstance(description, str) or not description.strip():
        raise ApiError(400, "missing_field", field="description")
    now = desk.clock()
    reported_at = body.pop("reported_at", None)
    received_at = _timestamp("reported_at", reported_at, now) if reported_at else now
    _known_fields(body, SETTABLE_AT_INTAKE)
    # keys are the caller's own: two agents choosing the same key must not collide
    key = f"{actor.name}:{request.headers.get('Idempotency-Key') or uuid.uuid4().hex}"
    result = await request.app[INTAKE].receive(
        Inbound(
            channel_detail="api",
            external_id=key[:300],
            received_at=received_at,
            text=description.strip(),
            sender=Sender(
                name=body.get("contact_name"),
                phone=body.get("contact_phone"),
                org_name=body.get("org_name"),
            ),
            fields=body,
            actor=actor.name,
        ),
    )
    return await _ticket_response(
        desk,
        result.ticket_no,
        actor,
        status=200 if result.outcome == "duplicate" else 201,
        headers={"Location": f"/api/v1/tickets/{result.ticket_no}"},
    )


async def _ticket_response(
    desk: Desk,
    ticket_no: str,
    actor: Actor,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The ticket as `actor` may see it, read after the change committed."""
    async with desk.sessions() as session:
        order = await workflow.load_order(session, ticket_no, actor)
        view = queries.ticket_view(order, actor)
        view |= await queries.ticket_deliveries(session, order.id)
    return web.json_response(view, status=status, headers=headers)


@routes.get("/api/v1/tickets/{ticket_no}")
async def get_ticket(request: web.Request) -> web.Response:
    return await _ticket_response(request.app[DESK], request.match_info["ticket_no"],
                                  _actor(request))


def _choice(query: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise InvalidField(name, "应为 " + " / ".join(allowed) + " 之一")
    return value


def _day_bound(name: str, value: str | None, desk: Desk, *, end: bool) -> datetime | None:
    """`from`/`to` take a date (local calendar day, `to` inclusive) or an ISO timestamp."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return _parse_iso(name, value)
    if not EARLIEST <= day.year <= LATEST:
        raise InvalidField(name, f"年份应在 {EARLIEST}–{LATEST} 之间")
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=desk.zone)


def _positive_int(query: Any, name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidField(name, f"应为 1 到 {maximum} 之间的整数")
    return int(raw)


@routes.get("/api/v1/tickets")
async def list_tickets(request: web.Request) -> web.Response:
    actor = _actor(request)
    desk = request.app[DESK]
    q = request.query
    known = {"status", "level", "category", "vendor", "from", "to", "page", "per_page"}
    _known_fields(q, known)
    flt = queries.TicketFilter(
        status=_choice(q, "status", tuple(s.value for s in Status)),
        level=_choice(q, "level", LEVELS),
        category=_choice(q, "category", CATEGORIES),
        vendor=q.get("vendor"),
        since=_day_bound("from", q.get("from"), desk, end=False),
        until=_day_bound("to", q.get("to"), desk, end=True),
    )
    page = _positive_int(q, "page", 1, 1_000_000)
    per_page = _positive_int(q, "per_page", 50, MAX_PER_PAGE)
    async with desk.sessions() as session:
        total, orders = await queries.list_tickets(
            session, flt, actor, limit=per_page, offset=(page - 1) * per_page
        )
        items = [queries.ticket_view(o, actor) for o in orders]
    return web.json_response(
        {"total": total, "page": page, "per_page": per_page, "items": items}
    )


@routes.patch("/api/v1/tickets/{ticket_no}")
async def correct_ticket(request: web.Request) -> web.Response:
    """People correct the triage (level, product_category, complaint); kept for retraining."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, CORRECTABLE)
    ticket_no = request.match_info["ticket_no"]
    await correct_triage(desk, ticket_no, actor, body)
    return await _ticket_response(desk, ticket_no, actor)


@routes.post("/api/v1/tickets/{ticket_no}/transitions")
async def transition(request: web.Request) -> web.Response:
    actor = _actor(request)
    desk = request.app[DESK]
    body = await _json_object(request)
    target = body.pop("to", None)
    if not isinstance(target, str):
        raise ApiError(400, "missing_field", field="to")
    at_value = body.pop("at", None)
    at = None
    if at_value is not None:
        # back-dating (an arrival reported by phone) is for staff; vendors act in real time
        _require(actor, "agent", "supervisor")
        at = _timestamp("at", at_value, desk.clock())
    if actor.role == "vendor" and target not in VENDOR_TARGETS:
        raise ApiError(403, "forbidden", role=actor.role)
    if body.get("expected_arrival") is not None:  # told to the user: must be a real moment
        _parse_iso("expected_arrival", body["expected_arrival"])
    for name, limit in (("engineer", 100), ("plan", 2000)):
        if body.get(name) is not None:
            check_text(name, body[name], limit)
    ticket_no = request.match_info["ticket_no"]
    await workflow.transition(desk, ticket_no, target, actor, body, at=at)
    return await _ticket_response(desk, ticket_no, actor)
