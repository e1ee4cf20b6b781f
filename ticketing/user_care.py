"""Keeping the user informed outside the lifecycle steps: an apology and the new plan when a
deadline is missed, and one reminder of an unanswered survey. These run inside the SLA watcher's
pass (one transaction), on the user's channel, through the outbox. Care reminders (the free
service period ending, maintenance tips) are in `care_reminders`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ticketing.desk import Desk
from ticketing.notices import user_address, user_notice
from ticketing.orm import Contact, Survey, Vendor, WorkOrder
from ticketing.outbox import enqueue

REMIND_AFTER = timedelta(hours=24)
_WO = WorkOrder.__table__
_SURVEYS = Survey.__table__
_CONTACTS = Contact.__table__
_VENDORS = Vendor.__table__


def contact_address(
    desk: Desk, conn: Connection, channel_detail: str, contact_id: int | None
) -> tuple[str, str] | None:
    """`notices.user_address` for a contact id (Core, inside a running transaction)."""
    if contact_id is None:
        return None
    contact = conn.execute(
        select(_CONTACTS.c.wechat_openid, _CONTACTS.c.email, _CONTACTS.c.phone,
               _CONTACTS.c.unsubscribed_at, _CONTACTS.c.email_undeliverable_at)
        .where(_CONTACTS.c.id == contact_id)
    ).first()
    return user_address(desk, channel_detail, contact)


def company_name(desk: Desk, conn: Connection, vendor_id: int | None) -> str:
    """Who is responsible, in the user's words: the vendor, or the service desk."""
    if vendor_id is None:
        return desk.templates.desk_name
    name = conn.execute(select(_VENDORS.c.name).where(_VENDORS.c.id == vendor_id)).scalar()
    return name or desk.templates.desk_name


def apologise(
    desk: Desk, conn: Connection, row: Any, deadline: str, tier: int, mark: str, now: datetime
) -> None:
    """The user hears that a deadline was missed: an apology and what happens now (the company
    pressed, or the ticket raised to `tier` and reported to the bureau). Once per deadline."""
    address = contact_address(desk, conn, row.channel_detail, row.contact_id)
    if address is None:
        return
    enqueue(conn, user_notice(
        desk, "apology", address, ticket_no=row.ticket_no, ticket_id=row.id, key=mark,
        deadline=deadline, tier=tier, company=company_name(desk, conn, row.primary_vendor_id),
    ), now)


def remind_surveys(desk: Desk, conn: Connection, now: datetime) -> int:
    """One reminder for a survey left unanswered for 24 hours (while it is still valid)."""
    rows = conn.execute(
        select(_SURVEYS.c.id, _SURVEYS.c.work_order_id, _SURVEYS.c.token, _SURVEYS.c.expires_at,
               _WO.c.ticket_no, _WO.c.channel_detail, _WO.c.contact_id, _WO.c.contact_name)
        .join(_WO, _WO.c.id == _SURVEYS.c.work_order_id)
        .where(_SURVEYS.c.answered_at.is_(None), _SURVEYS.c.reminded_at.is_(None),
               _SURVEYS.c.channel != "phone",  # an agent's callback, not a message
               _SURVEYS.c.sent_at <= now - REMIND_AFTER, _SURVEYS.c.expires_at > now)
    ).all()
    for row in rows:
        address = contact_address(desk, conn, row.channel_detail, row.contact_id)
        if address is not None:
            enqueue(conn, user_notice(
                desk, "survey_reminder", address, ticket_no=row.ticket_no,
                ticket_id=row.work_order_id, key="1", contact_name=row.contact_name,
                link=f"{desk.public_url}/survey/{row.token}", expires_at=row.expires_at,
            ), now)
        conn.execute(_SURVEYS.update().where(_SURVEYS.c.id == row.id).values(reminded_at=now))
    return len(rows)
