"""Satisfaction surveys (满意度调查) on closing a ticket.

The survey goes out on the user's channel: on WeChat the user answers with a digit in the
standard's order (1 非常满意 … 5 非常不满意), then may add a comment; by e-mail the message holds a
link to `/survey/{token}` (a one-time token, valid 7 days) and a reply with a digit counts too.
The answer fills the work order's `rated`, `satisfaction` and `follow_up_feedback`; 不满意 or
非常不满意 opens a follow-up (回访) for the supervisor.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import audit, complaints, notices
from ticketing.desk import Desk
from ticketing.notices import supervisor_notice, user_address, user_notice
from ticketing.orm import Contact, Survey, WorkOrder
from ticketing.outbox import enqueue
from ticketing.tasks import close_tasks, open_task

SCALE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
VALID_FOR = timedelta(days=7)
COMMENT_WINDOW = timedelta(hours=1)  # a message this soon after the digit is its comment
_DIGIT = re.compile(r"^\s*([1-5１-５])\s*[。.！!]?\s*$")
_SURVEYS = Survey.__table__
_WO = WorkOrder.__table__


def digit_answer(text: str) -> str | None:
    """The scale value a reply like "1" or "２" means, or None."""
    match = _DIGIT.match(text)
    if not match:
        return None
    digit = int(match.group(1).translate(str.maketrans("１２３４５", "12345")))
    return SCALE[digit - 1]


async def send_survey(
    desk: Desk, session: AsyncSession, order: WorkOrder, contact: Contact | None, now: datetime
) -> None:
    """Create the survey of a ticket just closed and queue it on the user's channel; a hotline
    user's survey is a callback task for an agent (and an SMS with the link, when configured)."""
    existing = await session.scalar(select(Survey).where(Survey.work_order_id == order.id))
    if existing is not None:
        return  # closed again after a reopen: one survey per ticket
    address = user_address(desk, order.channel_detail, contact)
    phone = order.channel_detail == "phone"
    if address is None and not phone:
        return  # nobody to ask (an API report, an unfollowed user)
    token = secrets.token_urlsafe(24)
    session.add(Survey(
        work_order_id=order.id, contact_id=contact.id if contact else None, token=token,
        channel="phone" if phone else address[0] if address else "", sent_at=now,
        expires_at=now + VALID_FOR,
    ))
    if phone:
        caller = order.contact_phone or (contact.phone if contact else None)
        await session.run_sync(lambda s: open_task(
            s.connection(), "survey_call", "agent", order.id,
            f"工单 {order.ticket_no} 已办结，请回电进行满意度调查", now, phone=caller))
    if address is not None:
        await notices.queue(session, user_notice(
            desk, "survey", address, ticket_no=order.ticket_no, ticket_id=order.id, key="1",
            contact_name=order.contact_name, link=f"{desk.public_url}/survey/{token}",
        ), now)


@dataclass(frozen=True)
class Pending:
    survey_id: int
    work_order_id: int
    ticket_no: str
    answered_at: datetime | None


def pending_for(conn: Connection, contact_id: int, now: datetime) -> Pending | None:
    """The contact's latest survey still open to an answer or, answered a moment ago, to a
    comment."""
    row = conn.execute(
        select(_SURVEYS.c.id, _SURVEYS.c.work_order_id, _SURVEYS.c.answered_at,
               _SURVEYS.c.comment, _WO.c.ticket_no)
        .join(_WO, _WO.c.id == _SURVEYS.c.work_order_id)
        .where(_SURVEYS.c.contact_id == contact_id, _SURVEYS.c.expires_at > now)
        .order_by(_SURVEYS.c.sent_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    if row.answered_at is not None and (row.comment or now - row.answered_at > COMMENT_WINDOW):
        return None
    return Pending(row.id, row.work_order_id, row.ticket_no, row.answered_at)


def record_answer(
    desk: Desk, conn: Connection, survey_id: int, satisfaction: str, comment: str | None,
    actor: str, now: datetime,
) -> None:
    """Store an answer (and comment) on the survey and its ticket; a dissatisfied user gets a
    follow-up call (回访) from the supervisor."""
    survey = conn.execute(select(_SURVEYS).where(_SURVEYS.c.id == survey_id)).one()
    conn.execute(update(_SURVEYS).where(_SURVEYS.c.id == survey_id).values(
        answered_at=now, satisfaction=satisfaction, comment=comment or None))
    values: dict[str, Any] = {"rated": True, "satisfaction": satisfaction}
    if comment:
        values["follow_up_feedback"] = comment
    conn.execute(update(_WO).where(_WO.c.id == survey.work_order_id).values(**values))
    audit.record_sync(conn, at=now, actor=actor, action="rated",
                      work_order_id=survey.work_order_id, data={"satisfaction": satisfaction})
    close_tasks(conn, survey.work_order_id, "survey_call", actor,
                desk.vocabulary.label("satisfaction", satisfaction), now)
    if satisfaction in ("dissatisfied", "very_dissatisfied"):
        _follow_up(desk, conn, survey.work_order_id, satisfaction, now)
    if satisfaction == "very_dissatisfied":
        complaints.file(desk, conn, survey.work_order_id, "survey",
                        f"满意度评价：非常不满意。{comment or ''}".strip(), actor, now)


def record_comment(conn: Connection, survey_id: int, comment: str, actor: str,
                   now: datetime) -> None:
    survey = conn.execute(select(_SURVEYS).where(_SURVEYS.c.id == survey_id)).one()
    conn.execute(update(_SURVEYS).where(_SURVEYS.c.id == survey_id).values(comment=comment))
    conn.execute(update(_WO).where(_WO.c.id == survey.work_order_id)
                 .values(follow_up_feedback=comment))
    audit.record_sync(conn, at=now, actor=actor, action="survey_comment",
                      work_order_id=survey.work_order_id)


def _follow_up(
    desk: Desk, conn: Connection, ticket_id: int, satisfaction: str, now: datetime
) -> None:
    audit.record_sync(conn, at=now, actor="survey", action="follow_up_needed",
                      work_order_id=ticket_id, data={"satisfaction": satisfaction})
    ticket = conn.execute(select(_WO.c.ticket_no, _WO.c.contact_phone)
                          .where(_WO.c.id == ticket_id)).one()
    ticket_no = ticket.ticket_no
    label = desk.vocabulary.label("satisfaction", satisfaction)
    open_task(conn, "follow_up", "supervisor", ticket_id,
              f"用户对工单 {ticket_no} 的评价为“{label}”，请回访", now, phone=ticket.contact_phone)
    notice = supervisor_notice(desk, ticket_no, ticket_id, "follow_up",
                               f"用户对工单 {ticket_no} 的服务评价为“{label}”，请安排回访")
    if notice is not None:
        enqueue(conn, notice, now)


@dataclass(frozen=True)
class FormState:
    ticket_no: str
    usable: bool
    reason: str | None  # why not: "expired" / "answered" / "unknown"


def form_state(conn: Connection, token: str, now: datetime) -> tuple[FormState, int | None]:
    row = conn.execute(
        select(_SURVEYS.c.id, _SURVEYS.c.expires_at, _SURVEYS.c.answered_at, _WO.c.ticket_no)
        .join(_WO, _WO.c.id == _SURVEYS.c.work_order_id)
        .where(_SURVEYS.c.token == token)
    ).first()
    if row is None:
        return FormState("", False, "unknown"), None
    if row.answered_at is not None:
        return FormState(row.ticket_no, False, "answered"), row.id
    if row.expires_at <= now:
        return FormState(row.ticket_no, False, "expired"), row.id
    return FormState(row.ticket_no, True, None), row.id


class NoSurvey(Exception):
    def __init__(self, ticket_no: str, reason: str) -> None:
        super().__init__(f"ticket {ticket_no}: {reason}")
        self.ticket_no = ticket_no
        self.reason = reason  # "none" / "answered"


def record_by_agent(
    desk: Desk, conn: Connection, ticket_no: str, satisfaction: str, comment: str | None,
    agent: str, now: datetime,
) -> None:
    """An agent records the answer the user gave on the phone (the survey callback)."""
    row = conn.execute(
        select(_SURVEYS.c.id, _SURVEYS.c.answered_at)
        .join(_WO, _WO.c.id == _SURVEYS.c.work_order_id)
        .where(_WO.c.ticket_no == ticket_no)
    ).first()
    if row is None:
        raise NoSurvey(ticket_no, "none")
    if row.answered_at is not None:
        raise NoSurvey(ticket_no, "answered")
    conn.execute(update(_SURVEYS).where(_SURVEYS.c.id == row.id).values(answered_by=agent))
    record_answer(desk, conn, row.id, satisfaction, comment, agent, now)
