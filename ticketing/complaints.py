"""The complaint ledger (投诉台账).

A complaint is filed by the classifier's flag on a new report, a user message containing "投诉",
an agent, or a survey answer of 非常不满意. Each ticket has at most one complaint open at a time;
a further trigger is noted on it. The complaint lives its own life:

    received → investigating → remedied → confirmed (by the user)
                     ↑______________|  (the user does not accept the remedy)

It has an owner (the complaint desk, 投诉追踪专岗, until someone is named), remedy notes
(服务失误补救), a deadline to start investigating and one to remedy; the SLA watcher tells the
supervisor when either passes. The user hears when it is received and when it is settled, and
confirms by replying "认可" (or an agent records their answer after a call).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ticketing import audit
from ticketing.desk import Desk
from ticketing.notices import supervisor_notice, user_notice
from ticketing.orm import Complaint, Contact, Vendor, WorkOrder
from ticketing.outbox import enqueue
from ticketing.tasks import open_task
from ticketing.user_care import contact_address

STATUSES = ("received", "investigating", "remedied", "confirmed")
SOURCES = ("classifier", "message", "agent", "survey")
MOVES = {
    "received": ("investigating",),
    "investigating": ("remedied",),
    "remedied": ("confirmed", "investigating"),
    "confirmed": (),
}
WORD = "投诉"
_ACCEPTS = re.compile(r"^\s*(认可|接受|同意|满意|可以|好的)\s*[。.!！,，]?\s*$")
_REJECTS = re.compile(r"^\s*(不认可|不接受|不同意|不满意)")
_C = Complaint.__table__
_WO = WorkOrder.__table__
_CONTACTS = Contact.__table__


class ComplaintNotFound(Exception):
    def __init__(self, complaint_id: int) -> None:
        super().__init__(f"no complaint {complaint_id}")
        self.complaint_id = complaint_id


class IllegalComplaintMove(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a complaint cannot move from {current} to {target}")
        self.current = current
        self.target = target


class RemedyMissing(Exception):
    """Settling a complaint needs the remedy in words: the user is told what was done."""


def complaint_no(complaint_id: int) -> str:
    return f"TS{complaint_id:06d}"


def mentions_complaint(text: str) -> bool:
    return WORD in text


def answer_to_remedy(text: str) -> str | None:
    """"confirmed" when a reply accepts a remedy, "investigating" when it rejects it."""
    if _ACCEPTS.match(text):
        return "confirmed"
    if _REJECTS.match(text):
        return "investigating"
    return None


def file(
    desk: Desk, conn: Connection, ticket_id: int, source: str, summary: str, actor: str,
    now: datetime, *, owner: str | None = None,
) -> int:
    """Enter a complaint about the ticket in the ledger (or note the trigger on its open one)
    and tell the user and the supervisor; returns the complaint's id."""
    open_id = conn.execute(
        select(_C.c.id).where(_C.c.work_order_id == ticket_id, _C.c.status != "confirmed")
    ).scalar()
    if open_id is not None:
        audit.record_sync(conn, at=now, actor=actor, action="complaint_repeated",
                          work_order_id=ticket_id, data={"complaint": open_id, "source": source})
        return int(open_id)
    ticket = conn.execute(
        select(_WO.c.ticket_no, _WO.c.contact_id, _WO.c.contact_name, _WO.c.channel_detail,
               _WO.c.primary_vendor_id).where(_WO.c.id == ticket_id)
    ).one()
    policy = desk.complaints
    values = {
        "work_order_id": ticket_id, "contact_id": ticket.contact_id,
        "vendor_id": ticket.primary_vendor_id, "source": source, "status": "received",
        "owner": owner or policy.owner, "summary": summary[:4000], "received_at": now,
        "investigate_due": now + policy.investigate_within,
        "remedy_due": now + policy.remedy_within, "overdue_marks": [], "updated_at": now,
    }
    complaint_id = int(conn.execute(_C.insert().values(**values).returning(_C.c.id))
                       .scalar_one())
    conn.execute(update(_WO).where(_WO.c.id == ticket_id).values(complaint=True))
    audit.record_sync(conn, at=now, actor=actor, action="complaint_received",
                      work_order_id=ticket_id,
                      data={"complaint": complaint_id, "source": source, "owner": values["owner"]})
    number = complaint_no(complaint_id)
    address = contact_address(desk, conn, ticket.channel_detail, ticket.contact_id)
    if address is not None:
        enqueue(conn, user_notice(
            desk, "complaint_received", address, ticket_no=ticket.ticket_no, ticket_id=ticket_id,
            key=number, contact_name=ticket.contact_name, complaint_no=number,
            owner=values["owner"], remedy_due=values["remedy_due"],
        ), now)
    origin = desk.vocabulary.label("complaint_source", source)
    notice = supervisor_notice(
        desk, ticket.ticket_no, ticket_id, f"complaint:{number}",
        f"工单 {ticket.ticket_no} 收到投诉 {number}（{origin}）",
        f"投诉编号：{number}\n来源：{origin}\n内容：{summary[:500]}\n负责人：{values['owner']}",
    )
    if notice is not None:
        enqueue(conn, notice, now)
    return complaint_id


def move(
    desk: Desk, conn: Connection, complaint_id: int, target: str, actor: str, now: datetime,
    *, owner: str | None = None, remedy: str | None = None, note: str | None = None,
) -> None:
    """One step of the complaint's life. Settling (remedied) needs the remedy and tells the
    user; a user's answer (confirmed, or back to investigating) is kept in `user_response`."""
    row = conn.execute(select(_C).where(_C.c.id == complaint_id).with_for_update()).first()
    if row is None:
        raise ComplaintNotFound(complaint_id)
    if target not in MOVES[row.status]:
        raise IllegalComplaintMove(row.status, target)
    if target == "remedied" and not (remedy and remedy.strip()):
        raise RemedyMissing()
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if owner:
        values["owner"] = owner
    if target == "investigating" and row.investigating_at is None:
        values["investigating_at"] = now
    if target == "remedied":
        values["remedy"] = remedy if not row.remedy else f"{row.remedy}\n{remedy}"
        values["remedied_at"] = now
    if target == "confirmed":
        values["confirmed_at"] = now
    if note and row.status == "remedied":  # what the user said of the remedy
        values["user_response"] = note
    conn.execute(update(_C).where(_C.c.id == complaint_id).values(**values))
    audit.record_sync(conn, at=now, actor=actor, action="complaint_moved",
                      work_order_id=row.work_order_id, field="complaint_status",
                      old=row.status, new=target,
                      data={"complaint": complaint_id, "owner": values.get("owner"),
                            "remedy": remedy, "note": note})
    if target == "remedied":
        _tell_settled(desk, conn, row, values["remedy"], now)


def _tell_settled(desk: Desk, conn: Connection, row: Any, remedy: str, now: datetime) -> None:
    ticket = conn.execute(
        select(_WO.c.ticket_no, _WO.c.contact_name, _WO.c.channel_detail)
        .where(_WO.c.id == row.work_order_id)
    ).one()
    number = complaint_no(row.id)
    address = contact_address(desk, conn, ticket.channel_detail, row.contact_id)
    if address is None:
        # no channel back (a hotline caller without SMS): an agent calls to confirm
        phone = conn.execute(select(_CONTACTS.c.phone)
                             .where(_CONTACTS.c.id == row.contact_id)).scalar()
        open_task(conn, "complaint_call", "agent", row.work_order_id,
                  f"投诉 {number} 已补救，请致电用户确认是否认可", now, phone=phone,
                  complaint_id=row.id)
        return
    enqueue(conn, user_notice(
        desk, "complaint_settled", address, ticket_no=ticket.ticket_no,
        ticket_id=row.work_order_id, key=f"{number}:{now.isoformat()}",
        contact_name=ticket.contact_name, complaint_no=number, remedy=remedy,
    ), now)


def awaiting_user(conn: Connection, contact_id: int) -> tuple[int, int, str] | None:
    """(complaint id, ticket id, ticket no) of the contact's complaint waiting for their word."""
    row = conn.execute(
        select(_C.c.id, _C.c.work_order_id, _WO.c.ticket_no)
        .join(_WO, _WO.c.id == _C.c.work_order_id)
        .where(_C.c.contact_id == contact_id, _C.c.status == "remedied")
        .order_by(_C.c.remedied_at.desc()).limit(1)
    ).first()
    return (row.id, row.work_order_id, row.ticket_no) if row else None


def watch_deadlines(desk: Desk, conn: Connection, now: datetime) -> int:
    """Tell the supervisor once of each complaint not investigated or not remedied in time."""
    rows = conn.execute(
        select(_C.c.id, _C.c.work_order_id, _C.c.status, _C.c.investigate_due, _C.c.remedy_due,
               _C.c.overdue_marks, _C.c.owner, _WO.c.ticket_no)
        .join(_WO, _WO.c.id == _C.c.work_order_id)
        .where(_C.c.status.in_(("received", "investigating")),
               (_C.c.investigate_due <= now) | (_C.c.remedy_due <= now))
    ).all()
    told = 0
    for row in rows:
        marks = list(row.overdue_marks or [])
        due = []
        if row.status == "received" and row.investigate_due <= now:
            due.append("investigate")
        if row.remedy_due <= now:
            due.append("remedy")
        for mark in (m for m in due if m not in marks):
            marks.append(mark)
            told += 1
            what = "开始调查" if mark == "investigate" else "完成补救"
            number = complaint_no(row.id)
            audit.record_sync(conn, at=now, actor="sla-watch", action="complaint_overdue",
                              work_order_id=row.work_order_id,
                              data={"complaint": row.id, "mark": mark})
            notice = supervisor_notice(
                desk, row.ticket_no, row.work_order_id, f"complaint:{number}:{mark}",
                f"投诉 {number} 未按时{what}（负责人：{row.owner}）")
            if notice is not None:
                enqueue(conn, notice, now)
        conn.execute(update(_C).where(_C.c.id == row.id).values(overdue_marks=marks))
    return told


@dataclass(frozen=True)
class ComplaintView:
    id: int
    complaint_no: str
    ticket_no: str
    source: str
    status: str
    owner: str
    summary: str
    remedy: str | None
    user_response: str | None
    received_at: datetime
    investigate_due: datetime
    remedy_due: datetime
    investigating_at: datetime | None
    remedied_at: datetime | None
    confirmed_at: datetime | None
    vendor: str | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def listing(conn: Connection, *where: Any) -> list[ComplaintView]:
    vendors = Vendor.__table__
    rows = conn.execute(
        select(_C, _WO.c.ticket_no, vendors.c.name.label("vendor"))
        .join(_WO, _WO.c.id == _C.c.work_order_id)
        .outerjoin(vendors, vendors.c.id == _C.c.vendor_id)
        .where(*where).order_by(_C.c.received_at, _C.c.id)
    ).all()
    return [
        ComplaintView(
            r.id, complaint_no(r.id), r.ticket_no, r.source, r.status, r.owner, r.summary,
            r.remedy, r.user_response, r.received_at, r.investigate_due, r.remedy_due,
            r.investigating_at, r.remedied_at, r.confirmed_at, r.vendor,
        )
        for r in rows
    ]
