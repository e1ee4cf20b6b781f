"""The hotline: calls logged by agents, call-detail records from the PBX, and how they meet.

- `log_call`: an agent logs a call. A new problem goes through intake (channel `phone`, reported
  at the call's start, accepted at its answer); a follow-up naming a ticket joins it. The call is
  kept, joined with the PBX's record of it if that is already imported, and closes the open
  callback tasks for the number.
- `import_calls`: PBX records, one transaction per file, idempotent by the record's id. Each
  record is joined with the agent's log of the same call (same number, start within
  `MATCH_WINDOW`); the work order then takes its 用户反馈时间 and 反馈受理时间 from the PBX, which
  knows them to the second, and its deadlines follow. An unanswered inbound call becomes a
  callback task (回拨任务) unless the number was already called back.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import audit, intake
from ticketing.db import upsert
from ticketing.desk import Desk
from ticketing.directory import normalise_phone
from ticketing.lifecycle import Status
from ticketing.model import Inbound, IntakeResult, Sender
from ticketing.orm import Call, Contact, Organisation, WorkOrder
from ticketing.queries import ticket_id_of
from ticketing.sla import deadlines

MATCH_WINDOW = timedelta(minutes=2)
_CALLS = Call.__table__
_WO = WorkOrder.__table__


@dataclass(frozen=True)
class CallLog:
    """What an agent writes down about a call."""

    caller: str
    started_at: datetime
    agent: str
    summary: str = ""
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ticket_no: str | None = None  # a follow-up call about this ticket
    caller_name: str | None = None
    org_name: str | None = None
    direction: str = "in"  # "out": the agent called the user (a callback)
    key: str | None = None  # the client's idempotency key; a repeat logs nothing new


@dataclass(frozen=True)
class PbxRecord:
    """A call as the PBX recorded it (channels/phone/cdr.py reads the files)."""

    unique_id: str
    caller: str
    started_at: datetime
    outcome: str  # answered / abandoned / busy / failed
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    caller_name: str | None = None
    callee: str | None = None
    agent: str | None = None


@dataclass(frozen=True)
class CallLogged:
    call_id: int
    result: IntakeResult | None  # the ticket opened or joined; None for a callback note
    matched: bool  # joined with the PBX's record
    callbacks_closed: int


@dataclass(frozen=True)
class ImportResult:
    records: int
    inserted: int
    duplicates: int
    matched: int
    callbacks_opened: int


async def log_call(desk: Desk, log: CallLog) -> CallLogged:
    caller = normalise_phone(log.caller) or log.caller.strip()
    key = log.key or f"{log.agent}:{caller}:{log.started_at.isoformat()}"
    result: IntakeResult | None = None
    if log.summary.strip() or log.ticket_no:
        text = f"{log.ticket_no} {log.summary}".strip() if log.ticket_no else log.summary
        result = await intake.receive(
            desk,
            Inbound(
                channel_detail="phone",
                external_id=f"call:{key}",
                received_at=log.started_at,
                accepted_at=log.answered_at,
                text=text,
                sender=Sender(phone=caller, name=log.caller_name, org_name=log.org_name),
                actor=f"agent:{log.agent}",
            ),
        )
    return await _record(desk, log, caller, key, result)


async def _record(
    desk: Desk, log: CallLog, caller: str, key: str, result: IntakeResult | None
) -> CallLogged:
    return await asyncio.to_thread(_record_sync, desk, log, caller, key, result)


def _record_sync(
    desk: Desk, log: CallLog, caller: str, key: str, result: IntakeResult | None
) -> CallLogged:
    now = desk.clock()
    with desk.writer.begin() as conn:
        ticket_id = ticket_id_of(conn, result.ticket_no) if result and result.ticket_no else None
        row = {
            "source": "agent",
            "unique_id": key,
            "direction": log.direction,
            "caller": caller,
            "caller_name": log.caller_name,
            "callee": None,
            "started_at": log.started_at,
            "answered_at": log.answered_at or (log.started_at if log.direction == "out" else None),
            "ended_at": log.ended_at,
            "outcome": "answered",
            "agent": log.agent,
            "summary": log.summary or None,
            "work_order_id": ticket_id,
            "created_at": now,
        }
        call_id = conn.execute(_insert_call(conn.dialect.name), row).scalar_one_or_none()
        if call_id is None:  # logged before (the client retried): report the first logging
            call_id = conn.execute(
                select(_CALLS.c.id).where(_CALLS.c.source == "agent", _CALLS.c.unique_id == key)
            ).scalar_one()
            return CallLogged(call_id, result, False, 0)
        matched = _match_agent_call(desk, conn, call_id, caller, log.started_at, ticket_id, now)
        closed = _close_callbacks(conn, caller, log.started_at, call_id, now)
    return CallLogged(call_id, result, matched, closed)


def _insert_call(dialect: str) -> Any:
    return (
        upsert(dialect)(_CALLS)
        .on_conflict_do_nothing(index_elements=[_CALLS.c.source, _CALLS.c.unique_id])
        .returning(_CALLS.c.id)
    )


def _match_agent_call(
    desk: Desk,
    conn: Connection,
    call_id: int,
    caller: str,
    started_at: datetime,
    ticket_id: int | None,
    now: datetime,
) -> bool:
    pbx = conn.execute(
        select(_CALLS.c.id, _CALLS.c.started_at, _CALLS.c.answered_at)
        .where(
            _CALLS.c.source == "pbx",
            _CALLS.c.matched_id.is_(None),
            _CALLS.c.caller == caller,
            _CALLS.c.started_at.between(started_at - MATCH_WINDOW, started_at + MATCH_WINDOW),
        )
    ).all()
    if not pbx:
        return False
    best = min(pbx, key=lambda r: abs((r.started_at - started_at).total_seconds()))
    _join(desk, conn, call_id, best.id, ticket_id, best.started_at, best.answered_at, now)
    return True


def _join(
    desk: Desk,
    conn: Connection,
    agent_call: int,
    pbx_call: int,
    ticket_id: int | None,
    started_at: datetime,
    answered_at: datetime | None,
    now: datetime,
) -> None:
    conn.execute(update(_CALLS).where(_CALLS.c.id == agent_call).values(matched_id=pbx_call))
    conn.execute(
        update(_CALLS)
        .where(_CALLS.c.id == pbx_call)
        .values(matched_id=agent_call, work_order_id=ticket_id)
    )
    if ticket_id is not None:
        _times_from_pbx(desk, conn, ticket_id, started_at, answered_at, now)


def _times_from_pbx(
    desk: Desk,
    conn: Connection,
    ticket_id: int,
    started_at: datetime,
    answered_at: datetime | None,
    now: datetime,
) -> None:
    """The PBX knows when the call began and was answered: the ticket takes those times and
    the deadlines that run from them."""
    ticket = conn.execute(
        select(_WO.c.reported_at, _WO.c.accepted_at, _WO.c.same_city, _WO.c.channel).where(
            _WO.c.id == ticket_id
        )
    ).one()
    if ticket.channel != "phone" or (
        ticket.reported_at == started_at and ticket.accepted_at == answered_at
    ):
        return
    due = deadlines(desk.sla, started_at, ticket.same_city)
    values: dict[str, Any] = {
        "reported_at": started_at,
        "respond_due": due.respond_due,
        "arrive_due": due.arrive_due,
        "resolve_due": due.resolve_due,
    }
    if answered_at is not None:
        values["accepted_at"] = answered_at
    conn.execute(update(_WO).where(_WO.c.id == ticket_id).values(**values))
    audit.record_sync(
        conn, at=now, actor="pbx", action="field_changed", work_order_id=ticket_id,
        field="reported_at", old=ticket.reported_at, new=started_at,
        data={"accepted_at": answered_at.isoformat() if answered_at else None},
    )


def _close_callbacks(
    conn: Connection, caller: str, at: datetime, call_id: int, now: datetime
) -> int:
    """A call with the number (either way) after a missed call is its callback."""
    closed = conn.execute(
        update(_CALLS)
        .where(_CALLS.c.callback == "open", _CALLS.c.caller == caller, _CALLS.c.started_at <= at)
        .values(callback="done", callback_done_at=now, callback_call_id=call_id)
    )
    return int(closed.rowcount or 0)


def import_calls_sync(
    desk: Desk,
    records: Sequence[PbxRecord],
    source_name: str,
    progress: Callable[[int], None] | None = None,
    chunk: int = 5000,
) -> ImportResult:
    """One file of PBX records, all or nothing (one transaction), idempotent by record id.
    `progress` is told how many rows each executed chunk held."""
    now = desk.clock()
    with desk.writer.begin() as conn:
        before = _count(conn)
        statement = _insert_ignore(conn.dialect.name)
        for start in range(0, len(records), chunk):
            part = records[start : start + chunk]
            conn.execute(statement, [_pbx_row(r, source_name, now) for r in part])
            if progress is not None:
                progress(len(part))
        inserted = _count(conn) - before
        new = _new_rows(conn, source_name[:300], now) if inserted else []
        matched = _match_imported(desk, conn, new, now)
        opened = _open_callbacks(conn, new)
    return ImportResult(len(records), inserted, len(records) - inserted, matched, opened)


def _pbx_row(r: PbxRecord, source_name: str, now: datetime) -> dict[str, Any]:
    return {
        "source": "pbx",
        "unique_id": r.unique_id,
        "direction": "in",
        "caller": normalise_phone(r.caller) or r.caller,
        "caller_name": r.caller_name,
        "callee": r.callee,
        "started_at": r.started_at,
        "answered_at": r.answered_at,
        "ended_at": r.ended_at,
        "outcome": r.outcome,
        "agent": r.agent,
        "summary": None,
        "work_order_id": None,
        "imported_from": source_name[:300],
        "created_at": now,
    }


def _insert_ignore(dialect: str) -> Any:
    return upsert(dialect)(_CALLS).on_conflict_do_nothing(
        index_elements=[_CALLS.c.source, _CALLS.c.unique_id]
    )


def _count(conn: Connection) -> int:
    return int(
        conn.execute(select(func.count()).select_from(_CALLS).where(_CALLS.c.source == "pbx"))
        .scalar_one()
    )


def _new_rows(conn: Connection, source_name: str, now: datetime) -> list[Any]:
    """The records this import added (stamped with its file name and moment)."""
    return conn.execute(
        select(
            _CALLS.c.id, _CALLS.c.caller, _CALLS.c.started_at, _CALLS.c.answered_at,
            _CALLS.c.outcome, _CALLS.c.direction,
        ).where(
            _CALLS.c.source == "pbx",
            _CALLS.c.imported_from == source_name,
            _CALLS.c.created_at == now,
        )
    ).all()


def _match_imported(desk: Desk, conn: Connection, records: list[Any], now: datetime) -> int:
    if not records:
        return 0
    first = min(r.started_at for r in records) - MATCH_WINDOW
    last = max(r.started_at for r in records) + MATCH_WINDOW
    logs: dict[str, list[Any]] = defaultdict(list)
    for log in conn.execute(
        select(_CALLS.c.id, _CALLS.c.caller, _CALLS.c.started_at, _CALLS.c.work_order_id).where(
            _CALLS.c.source == "agent",
            _CALLS.c.matched_id.is_(None),
            _CALLS.c.started_at.between(first, last),
        )
    ):
        logs[log.caller].append(log)
    matched = 0
    for record in sorted(records, key=lambda r: r.started_at):
        candidates = [
            log for log in logs.get(record.caller, [])
            if abs(log.started_at - record.started_at) <= MATCH_WINDOW
        ]
        if not candidates:
            continue
        log = min(candidates, key=lambda c: abs(c.started_at - record.started_at))
        logs[record.caller].remove(log)
        _join(desk, conn, log.id, record.id, log.work_order_id, record.started_at,
              record.answered_at, now)
        matched += 1
    return matched


def _open_callbacks(conn: Connection, records: list[Any]) -> int:
    """Unanswered inbound calls nobody has called back since become callback tasks."""
    missed = [r for r in records if r.outcome != "answered" and r.direction == "in"]
    if not missed:
        return 0
    since = min(r.started_at for r in missed)
    logged: dict[str, list[Any]] = defaultdict(list)
    for log in conn.execute(
        select(_CALLS.c.id, _CALLS.c.caller, _CALLS.c.started_at)
        .where(_CALLS.c.source == "agent", _CALLS.c.started_at >= since)
        .order_by(_CALLS.c.started_at)
    ):
        logged[log.caller].append(log)
    updates = []
    for record in missed:
        back = next(
            (log for log in logged.get(record.caller, ()) if log.started_at >= record.started_at),
            None,
        )
        updates.append(
            {
                "call_id": record.id,
                "state": "open" if back is None else "done",
                "back_id": back.id if back is not None else None,
            }
        )
    conn.execute(
        update(_CALLS)
        .where(_CALLS.c.id == bindparam("call_id"))
        .values(callback=bindparam("state"), callback_call_id=bindparam("back_id")),
        updates,
    )
    return sum(u["state"] == "open" for u in updates)


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerInfo:
    phone: str
    name: str | None
    org_name: str | None
    open_tickets: list[dict[str, Any]]


async def caller_info(session: AsyncSession, phone: str) -> CallerInfo:
    """Who is calling: the registry entry for the number and their open tickets."""
    number = normalise_phone(phone) or phone
    contact = (
        await session.execute(
            select(Contact.id, Contact.name, Organisation.name.label("org_name"))
            .outerjoin(Organisation, Organisation.id == Contact.organisation_id)
            .where(Contact.phone == number)
        )
    ).first()
    tickets: list[dict[str, Any]] = []
    if contact is not None:
        rows = await session.execute(
            select(WorkOrder.ticket_no, WorkOrder.status, WorkOrder.level, WorkOrder.description)
            .where(WorkOrder.contact_id == contact.id, WorkOrder.status != Status.CLOSED.value)
            .order_by(WorkOrder.id.desc())
        )
        tickets = [
            {"ticket_no": r.ticket_no, "status": r.status, "level": r.level,
             "description": r.description[:60]}
            for r in rows
        ]
    return CallerInfo(
        phone=number,
        name=contact.name if contact else None,
        org_name=contact.org_name if contact else None,
        open_tickets=tickets,
    )


async def open_callbacks(session: AsyncSession) -> list[dict[str, Any]]:
    """The callback list: missed calls nobody has called back, oldest first."""
    rows = await session.execute(
        select(Call.id, Call.caller, Call.caller_name, Call.started_at, Call.outcome)
        .where(Call.callback == "open")
        .order_by(Call.started_at)
    )
    return [dict(r._mapping) for r in rows]


def _between(since: datetime | None, until: datetime | None) -> Any:
    clauses = [Call.source == "pbx", Call.direction == "in"]
    if since is not None:
        clauses.append(Call.started_at >= since)
    if until is not None:
        clauses.append(Call.started_at < until)
    return and_(*clauses)


async def pbx_calls(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[tuple[datetime, datetime | None, datetime | None, str]]:
    rows = await session.execute(
        select(Call.started_at, Call.answered_at, Call.ended_at, Call.outcome)
        .where(_between(since, until))
        .order_by(Call.started_at)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]
