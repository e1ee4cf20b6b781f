"""The SLA watcher: no deadline passes unseen.

Each open ticket carries `sla_check_at`, the next moment something may be due, so a pass reads
only the tickets due now (one indexed range scan) however many are open. For each deadline
still running — respond; arrive, when the handling is on site; resolve — the watcher acts once
at 75 % of the time allowed (a warning to the responsible company) and once at 100 % (a breach:
an event, the supervisor told; a missed solution also climbs one support tier, and the first one
is filed with the bureau, 自治区数据局备案). What it acted on is kept in `sla_marks`, and every
notice has a dedupe key, so nothing is sent twice.

One pass is one transaction. On PostgreSQL it first takes a transaction-level advisory lock: with
several processes, the one that gets it acts and the others skip the pass. On SQLite the writer
lock (BEGIN IMMEDIATE) serialises passes the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from ticketing import audit, complaints, user_care
from ticketing.care_reminders import CareTips, send_care
from ticketing.confirmations import auto_close
from ticketing.desk import Desk
from ticketing.notices import supervisor_notice
from ticketing.orm import WorkOrder
from ticketing.outbox import enqueue
from ticketing.periodic import Periodic
from ticketing.routing import route_to_vendors
from ticketing.sla_marks import milestones, next_check
from ticketing.transfers import escalate_due_transfers

_WO = WorkOrder.__table__
LOCK_KEY = 0x78636465736B  # "xcdesk": the advisory lock of the SLA watcher
MAX_TIER = 3
CARE_EVERY = timedelta(minutes=10)

_COLUMNS = (
    _WO.c.id, _WO.c.ticket_no, _WO.c.status, _WO.c.level, _WO.c.reported_at,
    _WO.c.handling_mode, _WO.c.respond_due, _WO.c.arrive_due, _WO.c.resolve_due,
    _WO.c.responded_at, _WO.c.arrived_at, _WO.c.completed_at, _WO.c.primary_vendor_id,
    _WO.c.escalation_tier, _WO.c.sla_marks, _WO.c.channel_detail, _WO.c.contact_id,
)  # fmt: skip
_DUE = select(*_COLUMNS).where(_WO.c.sla_check_at <= bindparam("now")).order_by(_WO.c.id)
_SET = (
    update(_WO)
    .where(_WO.c.id == bindparam("ticket_id"))
    .values(sla_check_at=bindparam("check_at"), sla_marks=bindparam("marks"))
)


@dataclass(frozen=True)
class PassResult:
    acted: bool  # False: another process holds the lock
    tickets: int
    warnings: int
    breaches: int


class SlaWatcher:
    def __init__(
        self, desk: Desk, *, interval: float = 30.0, care_tips: CareTips | None = None
    ) -> None:
        self._desk = desk
        self._tips = care_tips  # None: no care reminders (tests of the deadlines alone)
        self._care_due: datetime | None = None  # care is weekly: no need to look every pass
        self._loop = Periodic("sla-watcher", interval, self._round)

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)
        await auto_close(self._desk)  # resolved, unanswered for 3 days

    def run_once(self) -> PassResult:
        now = self._desk.clock()
        with self._desk.writer.begin() as conn:
            if conn.dialect.name == "postgresql" and not conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
            ).scalar_one():
                return PassResult(False, 0, 0, 0)
            rows = conn.execute(_DUE, {"now": now}).all()
            warnings = breaches = 0
            updates = []
            for row in rows:
                marks = list(row.sla_marks or [])
                for mark, moment in milestones(row):
                    if mark in marks or moment > now:
                        continue
                    marks.append(mark)
                    if mark.endswith(":75"):
                        warnings += 1
                        self._warn(conn, row, mark, now)
                    else:
                        breaches += 1
                        self._breach(conn, row, mark, now)
                updates.append(
                    {"ticket_id": row.id, "check_at": next_check(row, marks), "marks": marks}
                )
            if updates:
                conn.execute(_SET, updates)
            escalate_due_transfers(self._desk, conn, now)
            user_care.remind_surveys(self._desk, conn, now)
            complaints.watch_deadlines(self._desk, conn, now)
            if self._tips is not None and (self._care_due is None or now >= self._care_due):
                send_care(self._desk, conn, self._tips, now)
                self._care_due = now + CARE_EVERY
        return PassResult(True, len(rows), warnings, breaches)

    def _warn(self, conn: Connection, row: Any, mark: str, now: datetime) -> None:
        _event(conn, row.id, "sla_warning", now, data={"mark": mark})
        if row.primary_vendor_id is not None:
            route_to_vendors(self._desk, conn, row.id, row.ticket_no, row.primary_vendor_id, (),
                             f"warn_{mark.split(':')[0]}", now)

    def _breach(self, conn: Connection, row: Any, mark: str, now: datetime) -> None:
        deadline = mark.split(":")[0]
        _event(conn, row.id, "sla_breach", now, data={"mark": mark})
        if row.primary_vendor_id is not None:
            route_to_vendors(self._desk, conn, row.id, row.ticket_no, row.primary_vendor_id, (),
                             f"breach_{deadline}", now)
        label = self._desk.vocabulary.label("deadline", deadline)
        self._tell_supervisor(conn, row, f"工单 {row.ticket_no} 已超过{label}时限",
                              f"breach:{mark}", now)
        tier = row.escalation_tier
        if deadline == "resolve" and row.escalation_tier < MAX_TIER:
            tier = row.escalation_tier + 1
            conn.execute(update(_WO).where(_WO.c.id == row.id).values(escalation_tier=tier))
            _event(conn, row.id, "escalated", now, data={"tier": tier},
                   field="escalation_tier", old=row.escalation_tier, new=tier)
            if row.escalation_tier == 1:  # tier 1 could not solve it: filed with the bureau
                _event(conn, row.id, "bureau_filed", now,
                       data={"reason": "resolve deadline missed"})
        user_care.apologise(self._desk, conn, row, deadline, tier, mark, now)

    def _tell_supervisor(
        self, conn: Connection, row: Any, text_: str, key: str, now: datetime
    ) -> None:
        notice = supervisor_notice(self._desk, row.ticket_no, row.id, key, text_)
        if notice is not None:
            enqueue(conn, notice, now)




def due_count(conn: Connection, now: datetime) -> int:
    """The bare query of a pass (the benchmark's baseline)."""
    return int(conn.execute(
        select(func.count()).select_from(_WO).where(_WO.c.sla_check_at <= now)
    ).scalar_one())


def _event(conn: Connection, ticket_id: int, action: str, now: datetime, **details: Any) -> None:
    audit.record_sync(conn, at=now, actor="sla-watch", action=action, work_order_id=ticket_id,
                      **details)
