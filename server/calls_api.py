"""REST routes of the hotline: logging calls, who is calling, the callback list, figures."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from server.api import (
    DESK,
    _actor,
    _day_bound,
    _json_object,
    _known_fields,
    _require,
    _timestamp,
)
from server.errors import ApiError
from ticketing import calls, hotline, service_rates
from ticketing.fields import InvalidField

routes = web.RouteTableDef()
_TEXT_LIMITS = {"summary": 10_000, "ticket_no": 40, "caller_name": 100, "org_name": 200}
_CALL_FIELDS = frozenset(
    {"caller", "started_at", "answered_at", "ended_at", "summary", "ticket_no", "caller_name",
     "org_name", "direction"}
)  # fmt: skip


@routes.post("/api/v1/calls")
async def log_call(request: web.Request) -> web.Response:
    """An agent logs a call: a new problem opens a work order (channel phone), a call naming a
    ticket joins it, a call with the number of a missed call closes its callback task."""
    actor = _actor(request)
    _require(actor, "agent", "supervisor")
    desk = request.app[DESK]
    body = await _json_object(request)
    _known_fields(body, _CALL_FIELDS)
    caller = body.get("caller")
    if not isinstance(caller, str) or not caller.strip():
        raise ApiError(400, "missing_field", field="caller")
    if len(caller.strip()) > 40:
        raise InvalidField("caller", "号码过长（不超过 40 个字符）")
    if "started_at" not in body:
        raise ApiError(400, "missing_field", field="started_at")
    now = desk.clock()
    started = _timestamp("started_at", body["started_at"], now)
    answered, ended = (
        _timestamp(name, body[name], now) if body.get(name) else None
        for name in ("answered_at", "ended_at")
    )
    if answered is not None and answered < started:
        raise InvalidField("answered_at", "不能早于来电时间")
    direction = body.get("direction", "in")
    if direction not in {"in", "out"}:
        raise InvalidField("direction", "应为 in 或 out")
    text = {k: body.get(k) for k in ("summary", "ticket_no", "caller_name", "org_name")}
    for name, value in text.items():
        if value is not None and not isinstance(value, str):
            raise InvalidField(name, "应为文本")
        if isinstance(value, str) and len(value) > _TEXT_LIMITS[name]:
            raise InvalidField(name, f"应为不超过 {_TEXT_LIMITS[name]} 字的文本")
    key = request.headers.get("Idempotency-Key")
    logged = await calls.log_call(
        desk,
        calls.CallLog(
            caller=caller,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            agent=actor.name,
            summary=(text["summary"] or "").strip(),
            ticket_no=(text["ticket_no"] or "").strip().upper() or None,
            caller_name=text["caller_name"],
            org_name=text["org_name"],
            direction=direction,
            key=f"{actor.name}:{key}"[:200] if key else None,
        ),
    )
    async with desk.sessions() as session:
        who = await calls.caller_info(session, caller)
    result = logged.result
    return web.json_response(
        {
            "call_id": logged.call_id,
            "matched_pbx_record": logged.matched,
            "callbacks_closed": logged.callbacks_closed,
            "ticket": None
            if result is None or result.ticket_no is None
            else {
                "ticket_no": result.ticket_no,
                "outcome": result.first_outcome or result.outcome,
                "level": result.level,
                "status": result.status,
            },
            "caller": asdict(who),
        },
        status=201,
    )


@routes.get("/api/v1/callers/{phone}")
async def caller(request: web.Request) -> web.Response:
    """Who is calling: unit, name and open tickets of the number (the agent's screen pop)."""
    _require(_actor(request), "agent", "supervisor")
    async with request.app[DESK].sessions() as session:
        who = await calls.caller_info(session, request.match_info["phone"])
    return web.json_response(asdict(who))


@routes.get("/api/v1/callbacks")
async def callbacks(request: web.Request) -> web.Response:
    """回拨任务: missed calls nobody has called back yet, oldest first."""
    _require(_actor(request), "agent", "supervisor")
    async with request.app[DESK].sessions() as session:
        items = await calls.open_callbacks(session)
    return web.json_response({"items": [_json(item) for item in items]})


@routes.get("/api/v1/metrics/hotline")
async def hotline_metrics(request: web.Request) -> web.Response:
    """Calls, answered within 30 s, abandoned, average and p90 wait; by day and by hour."""
    _require(_actor(request), "agent", "supervisor")
    desk = request.app[DESK]
    since = _day_bound("from", request.query.get("from"), desk, end=False)
    until = _day_bound("to", request.query.get("to"), desk, end=True)
    async with desk.sessions() as session:
        rows = await calls.pbx_calls(session, since, until)
    return web.json_response(hotline.report(rows, desk.zone))


@routes.get("/api/v1/metrics/service")
async def service_metrics(request: web.Request) -> web.Response:
    """Completion, complaint resolution, satisfaction, survey response and SLA compliance;
    in total, by primary company and by month (tickets reported in the period)."""
    _require(_actor(request), "agent", "supervisor")
    desk = request.app[DESK]
    since = _day_bound("from", request.query.get("from"), desk, end=False)
    until = _day_bound("to", request.query.get("to"), desk, end=True)
    async with desk.sessions() as session:
        facts = await service_rates.ticket_facts(session, since, until)
    return web.json_response(service_rates.report(facts, desk.clock(), desk.zone))


def _json(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in item.items()}
