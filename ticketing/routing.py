"""Sending a ticket to the companies responsible for it (queued in the outbox).

The primary company gets the ticket, each secondary company a copy: by signed webhook when the
vendor has one (channel `vendor`, channels/vendor/), else by e-mail, else nowhere (an event says
so, for a person to follow up). `reason` tells why it is sent: a new ticket, a transfer, …;
with the ticket and the company it makes the dedupe key, so a replayed change sends nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ticketing import audit
from ticketing.desk import Desk
from ticketing.orm import Vendor
from ticketing.outbox import Outbound, enqueue

_VENDORS = Vendor.__table__


def route_to_vendors(
    desk: Desk,
    conn: Connection,
    ticket_id: int,
    ticket_no: str,
    primary_id: int | None,
    secondary_ids: Sequence[int],
    reason: str,
    now: datetime,
) -> None:
    targets = ([(primary_id, "primary")] if primary_id else []) + [
        (v, "secondary") for v in secondary_ids if v != primary_id
    ]
    if not targets:
        return
    rows = {
        r.id: r
        for r in conn.execute(
            select(_VENDORS.c.id, _VENDORS.c.name, _VENDORS.c.webhook_url, _VENDORS.c.email)
            .where(_VENDORS.c.id.in_([v for v, _ in targets]))
        )
    }
    for vendor_id, role in targets:
        vendor = rows[vendor_id]
        key = f"route:{ticket_no}:{vendor_id}:{reason}"
        payload = {"ticket_no": ticket_no, "role": role, "reason": reason, "vendor": vendor.name}
        if vendor.webhook_url:
            message = Outbound(key, "vendor", str(vendor_id), "ticket", "", None, payload,
                               ticket_id)
        elif vendor.email:
            body = desk.templates.render(
                "vendor_ticket.txt.j2", ticket_no=ticket_no, vendor=vendor.name, role=role,
                reason=reason,
            )
            subject = f"[{ticket_no}] {'服务工单' if role == 'primary' else '服务工单抄送'}"
            message = Outbound(key, "email", vendor.email, "vendor_ticket", body, subject,
                               payload, ticket_id)
        else:
            audit.record_sync(
                conn, at=now, actor="routing", action="not_routed", work_order_id=ticket_id,
                data=payload | {"why": "vendor has neither webhook nor e-mail"},
            )
            continue
        enqueue(conn, message, now)
