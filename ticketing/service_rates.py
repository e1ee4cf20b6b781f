"""Service rates for supervisors: completion, complaints resolved, satisfaction, survey
response and SLA compliance per step; in total, by primary company and by month.

All from one pure function over the tickets of a period, so they can be checked by hand:
- completion rate (问题处理完成率): resolved or closed / tickets;
- complaint resolution rate (投诉解决率): complaints in the ledger the user confirmed settled /
  complaints (a ticket counts its latest complaint);
- satisfaction: the count of each level, and the score, the mean of 5 (非常满意) … 1 (非常不满意);
- survey response rate: answered / sent;
- SLA compliance per step: met / due, where a step is due once its deadline has passed or it
  was done, and met when it was done by its deadline (arrival only for on-site handling).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.orm import Complaint, Survey, Vendor, WorkOrder

POINTS = {"very_satisfied": 5, "satisfied": 4, "neutral": 3, "dissatisfied": 2,
          "very_dissatisfied": 1}  # fmt: skip
_DONE = ("resolved", "closed")
COMPLAINT_STATUSES = ("received", "investigating", "remedied", "confirmed")


@dataclass(frozen=True)
class TicketFacts:
    vendor: str | None
    reported_at: datetime
    status: str
    complaint: str | None  # the status of the ticket's latest complaint in the ledger
    handling_mode: str | None
    respond_due: datetime
    responded_at: datetime | None
    arrive_due: datetime
    arrived_at: datetime | None
    resolve_due: datetime
    completed_at: datetime | None
    survey_sent: bool
    satisfaction: str | None


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _step(rows: list[TicketFacts], due: str, done: str, now: datetime,
          only_onsite: bool = False) -> dict[str, Any]:
    considered = [r for r in rows if not only_onsite or r.handling_mode == "onsite"]
    counted = [r for r in considered if getattr(r, done) is not None or getattr(r, due) <= now]
    met = [
        r for r in counted if getattr(r, done) is not None and getattr(r, done) <= getattr(r, due)
    ]
    return {"due": len(counted), "met": len(met), "rate": _rate(len(met), len(counted))}


def rates(rows: Iterable[TicketFacts], now: datetime) -> dict[str, Any]:
    rows = list(rows)
    complaints = [r for r in rows if r.complaint]
    answered = [r.satisfaction for r in rows if r.satisfaction in POINTS]
    return {
        "tickets": len(rows),
        "completion_rate": _rate(sum(r.status in _DONE for r in rows), len(rows)),
        "complaints": len(complaints),
        "complaints_by_status": {s: sum(r.complaint == s for r in complaints)
                                 for s in COMPLAINT_STATUSES},
        "complaint_resolution_rate": _rate(sum(r.complaint == "confirmed" for r in complaints),
                                           len(complaints)),
        "satisfaction": {level: answered.count(level) for level in POINTS},
        "satisfaction_score": round(sum(POINTS[a] for a in answered) / len(answered), 2)
        if answered else None,
        "survey_response_rate": _rate(len(answered), sum(r.survey_sent for r in rows)),
        "sla": {
            "respond": _step(rows, "respond_due", "responded_at", now),
            "arrive": _step(rows, "arrive_due", "arrived_at", now, only_onsite=True),
            "resolve": _step(rows, "resolve_due", "completed_at", now),
        },
    }


def report(rows: Iterable[TicketFacts], now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    rows = list(rows)
    by_vendor: dict[str, list[TicketFacts]] = defaultdict(list)
    by_month: dict[str, list[TicketFacts]] = defaultdict(list)
    for r in rows:
        by_vendor[r.vendor or "（未定主责）"].append(r)
        by_month[r.reported_at.astimezone(zone).strftime("%Y-%m")].append(r)
    return {
        "total": rates(rows, now),
        "by_vendor": {v: rates(r, now) for v, r in sorted(by_vendor.items())},
        "by_month": {m: rates(r, now) for m, r in sorted(by_month.items())},
    }


async def ticket_facts(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[TicketFacts]:
    period = [c for c in (WorkOrder.reported_at >= since if since is not None else None,
                          WorkOrder.reported_at < until if until is not None else None)
              if c is not None]
    stmt = (
        select(WorkOrder, Vendor.name, Survey.id)
        .outerjoin(Vendor, Vendor.id == WorkOrder.primary_vendor_id)
        .outerjoin(Survey, Survey.work_order_id == WorkOrder.id)
        .where(*period)
    )
    ledger = {  # latest complaint of each ticket of the period: the last id wins
        ticket_id: status for ticket_id, status in (await session.execute(
            select(Complaint.work_order_id, Complaint.status)
            .join(WorkOrder, WorkOrder.id == Complaint.work_order_id)
            .where(*period).order_by(Complaint.id))).all()
    }
    found = []
    for order, vendor, survey_id in (await session.execute(stmt)).all():
        found.append(TicketFacts(
            vendor=vendor, reported_at=order.reported_at, status=order.status,
            complaint=ledger.get(order.id), handling_mode=order.handling_mode,
            respond_due=order.respond_due, responded_at=order.responded_at,
            arrive_due=order.arrive_due, arrived_at=order.arrived_at,
            resolve_due=order.resolve_due, completed_at=order.completed_at,
            survey_sent=survey_id is not None, satisfaction=order.satisfaction,
        ))
    return found
