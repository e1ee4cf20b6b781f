"""What the user hears about their ticket, and where: progress notices on each lifecycle step.

A notice goes back on the channel the user reported on (WeChat to their openid, e-mail to their
address); a hotline or API report gets none, as the caller was answered on the spot. It is queued
in the outbox in the same transaction as the step that causes it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.desk import Desk
from ticketing.orm import Contact, ConversationMessage, OutboxMessage, WorkOrder
from ticketing.outbox import Outbound

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def reply_address(
    channel_detail: str, wechat_openid: str | None, email: str | None
) -> tuple[str, str] | None:
    """(channel, recipient) to answer a user on the channel they wrote in, if it has one."""
    if channel_detail == "wechat" and wechat_openid:
        return "wechat", wechat_openid
    if channel_detail == "email" and email:
        return "email", email
    return None  # phone and API callers get their answer on the spot


def mobile_number(phone: str | None) -> str | None:
    """The 11-digit mobile number in `phone`, or None for a landline or nothing."""
    if not phone:
        return None
    match = _MOBILE.match(re.sub(r"[\s-]", "", phone))
    return match.group(1) if match else None


def user_address(desk: Desk, channel_detail: str, contact: Any) -> tuple[str, str] | None:
    """Where to reach the user of a ticket, or None: no channel to write back on, or one that
    no longer reaches them (unfollowed on WeChat, mail bouncing). Hotline callers get SMS when
    an SMS adapter is configured and their number is a mobile. `contact`: a `Contact` or a row
    with its columns."""
    if contact is None:
        return None
    if channel_detail == "wechat" and contact.unsubscribed_at:
        return None
    if channel_detail == "email" and contact.email_undeliverable_at:
        return None
    if channel_detail == "phone":
        mobile = mobile_number(contact.phone) if desk.sms_enabled else None
        return ("sms", mobile) if mobile else None
    return reply_address(channel_detail, contact.wechat_openid, contact.email)


def user_notice(
    desk: Desk,
    step: str,
    address: tuple[str, str],
    *,
    ticket_no: str | None,
    ticket_id: int | None,
    key: str,
    **context: Any,
) -> Outbound:
    """The notice for `step` on the user's channel, from notices/<channel>/<step>.txt.j2.
    `key` makes the outbox dedupe key (one message per step and occasion). A care reminder
    may concern no ticket (`ticket_no` None): its subject has no tag."""
    channel, recipient = address
    context.setdefault("contact_name", None)
    subject, summary, body = desk.templates.notice(step, channel, ticket_no=ticket_no, **context)
    return Outbound(
        dedupe_key=f"{step}:{ticket_no or recipient}:{key}",
        channel=channel,
        recipient=recipient,
        kind=_kind(step),
        subject=f"[{ticket_no}] {subject}" if ticket_no else subject,
        body=body,
        payload={"ticket_no": ticket_no or "", "step": step, "summary": summary},
        work_order_id=ticket_id,
    )


def _kind(step: str) -> str:
    """The outbox kind of a step's notice: survey, complaint, care or progress."""
    head = step.split("_")[0]
    return head if head in ("survey", "complaint", "care") else "progress"


_PROGRESS_STEPS = frozenset({"accepted", "responded", "onsite", "resolved", "closed", "reopened"})


def progress_notice(
    desk: Desk,
    order: WorkOrder,
    contact: Contact | None,
    now: datetime,
    supplied: dict[str, Any] | None = None,
) -> Outbound | None:
    """The notice for the step `order` has just taken, or None when there is no one to tell.
    `supplied`: what the agent said with the step (engineer, plan, expected arrival)."""
    address = user_address(desk, order.channel_detail, contact)
    if address is None or order.status not in _PROGRESS_STEPS:
        return None
    supplied = supplied or {}
    arrival = supplied.get("expected_arrival")
    return user_notice(
        desk,
        order.status,
        address,
        ticket_no=order.ticket_no,
        ticket_id=order.id,
        # a reopened ticket takes the same step again, maybe within the same instant; a step
        # is never replayed, so no natural key is needed
        key=uuid.uuid4().hex,
        contact_name=order.contact_name,
        company=order.primary_vendor.name if order.primary_vendor else desk.templates.desk_name,
        respond_due=order.respond_due,
        arrive_due=order.arrive_due,
        arrived_at=order.arrived_at or now,
        same_city=order.same_city,
        handling_mode=order.handling_mode,
        engineer=supplied.get("engineer"),
        plan=supplied.get("plan"),
        expected_arrival=datetime.fromisoformat(arrival) if isinstance(arrival, str) else arrival,
        solution=order.solution,
    )


def supervisor_notice(
    desk: Desk, ticket_no: str, ticket_id: int, key: str, text: str, body: str | None = None
) -> Outbound | None:
    """An e-mail to the supervisor about a ticket (P1, missed deadline, transfer, follow-up),
    or None when no supervisor address is configured. `key` tells the occasion apart."""
    if not desk.supervisor_email:
        return None
    return Outbound(
        dedupe_key=f"supervisor:{ticket_no}:{key}",
        channel="email",
        recipient=desk.supervisor_email,
        kind="supervisor",
        subject=f"[{ticket_no}] {text}",
        body=body or text,
        payload={"ticket_no": ticket_no},
        work_order_id=ticket_id,
    )


async def queue(session: AsyncSession, message: Outbound, now: datetime) -> None:
    """Add `message` to the outbox and to the ticket's conversation (ORM unit of work)."""
    row = OutboxMessage(**asdict(message), status="pending", attempts=0, next_attempt_at=now,
                        created_at=now)
    session.add(row)
    await session.flush()
    session.add(
        ConversationMessage(
            work_order_id=message.work_order_id,
            direction="out",
            channel=message.channel,
            author="xcdesk",
            body=message.body,
            outbox_id=row.id,
            created_at=now,
        )
    )
