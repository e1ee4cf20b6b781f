"""What the user hears about their ticket, and where: progress notices on each lifecycle step.

A notice goes back on the channel the user reported on (WeChat to their openid, e-mail to their
address); a hotline or API report gets none, as the caller was answered on the spot. It is queued
in the outbox in the same transaction as the step that causes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.desk import Desk
from ticketing.orm import Contact, ConversationMessage, OutboxMessage, WorkOrder
from ticketing.outbox import Outbound


def reply_address(
    channel_detail: str, wechat_openid: str | None, email: str | None
) -> tuple[str, str] | None:
    """(channel, recipient) to answer a user on the channel they wrote in, if it has one."""
    if channel_detail == "wechat" and wechat_openid:
        return "wechat", wechat_openid
    if channel_detail == "email" and email:
        return "email", email
    return None  # phone and API callers get their answer on the spot


def user_address(channel_detail: str, contact: Any) -> tuple[str, str] | None:
    """Where to reach the user of a ticket, or None: no channel to write back on, or one that
    no longer reaches them (unfollowed on WeChat, mail bouncing). `contact`: a `Contact` or a
    row with its columns."""
    if contact is None:
        return None
    if channel_detail == "wechat" and contact.unsubscribed_at:
        return None
    if channel_detail == "email" and contact.email_undeliverable_at:
        return None
    return reply_address(channel_detail, contact.wechat_openid, contact.email)


def progress_notice(
    desk: Desk, order: WorkOrder, contact: Contact | None, now: datetime
) -> Outbound | None:
    """The notice for the step `order` has just taken, or None when there is no one to tell."""
    address = user_address(order.channel_detail, contact)
    if address is None:
        return None
    context = {
        "ticket_no": order.ticket_no,
        "status": order.status,
        "handling_mode": order.handling_mode,
        "arrive_due": order.arrive_due,
        "solution": order.solution,
    }
    body = desk.templates.render("progress.txt.j2", **context)
    if not body:
        return None
    channel, recipient = address
    return Outbound(
        # one per lifecycle step taken (a reopened ticket takes the same step again, maybe
        # within the same instant); a step is never replayed, so no natural key is needed
        dedupe_key=f"progress:{order.ticket_no}:{order.status}:{uuid.uuid4().hex}",
        channel=channel,
        recipient=recipient,
        kind="progress",
        subject=f"[{order.ticket_no}] 工单进展",
        body=body,
        payload={
            "ticket_no": order.ticket_no,
            "status": order.status,
            "summary": desk.templates.render("progress_summary.txt.j2", **context),
        },
        work_order_id=order.id,
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
    row = OutboxMessage(
        dedupe_key=message.dedupe_key,
        channel=message.channel,
        recipient=message.recipient,
        kind=message.kind,
        subject=message.subject,
        body=message.body,
        payload=message.payload,
        work_order_id=message.work_order_id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
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
