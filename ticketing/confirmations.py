"""The user confirms a solution: "已解决" closes the ticket, "未解决" reopens it; a resolved
ticket nobody answers for 3 days closes by itself (and its survey goes out).

Intake recognises the reply (`confirmation_of`, `resolved_ticket_of`) in the same transaction
as the message; the channel then applies it through the lifecycle (`apply`), after the commit.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ticketing.desk import Desk
from ticketing.lifecycle import IllegalTransition, Status
from ticketing.model import IntakeResult
from ticketing.orm import WorkOrder
from ticketing.workflow import Actor, TicketNotFound, transition

WINDOW = timedelta(days=3)
USER = Actor(name="user", role="user")
SYSTEM = Actor(name="system:auto-close", role="system")
_CONFIRMED = re.compile(r"^\s*(已解决|解决了|已经解决|好了|可以了)\s*[。.!！,，]?\s*$")
_DISPUTED = re.compile(r"^\s*(未解决|没解决|没有解决|还没解决|还没好|还是不行)")
_WO = WorkOrder.__table__


def confirmation_of(text: str) -> str | None:
    """"confirmed", "disputed", or None for any other message."""
    if _CONFIRMED.match(text):
        return "confirmed"
    if _DISPUTED.match(text):
        return "disputed"
    return None


def resolved_ticket_of(
    conn: Connection, contact_id: int, now: datetime
) -> tuple[int, str] | None:
    """The contact's ticket waiting for their confirmation (resolved in the last 3 days)."""
    row = conn.execute(
        select(_WO.c.id, _WO.c.ticket_no)
        .where(_WO.c.contact_id == contact_id, _WO.c.status == Status.RESOLVED.value,
               _WO.c.completed_at >= now - WINDOW)
        .order_by(_WO.c.completed_at.desc())
        .limit(1)
    ).first()
    return (row.id, row.ticket_no) if row else None


async def apply(desk: Desk, result: IntakeResult, text: str) -> None:
    """Close or reopen the ticket the user answered about (nothing on a redelivery)."""
    outcome = result.first_outcome if result.outcome == "duplicate" else result.outcome
    if outcome not in ("confirmed", "disputed") or result.ticket_no is None:
        return
    try:
        if outcome == "confirmed":
            await transition(desk, result.ticket_no, "closed", USER)
        else:
            await transition(desk, result.ticket_no, "reopened", USER, {"reason": text[:500]})
    except (IllegalTransition, TicketNotFound):
        pass  # already applied (a redelivered message) or moved on meanwhile


async def auto_close(desk: Desk) -> int:
    """Close the resolved tickets their users left unanswered for 3 days."""
    async with desk.sessions() as session:
        due = list(await session.scalars(
            select(WorkOrder.ticket_no).where(
                WorkOrder.status == Status.RESOLVED.value,
                WorkOrder.completed_at <= desk.clock() - WINDOW,
            )
        ))
    for ticket_no in due:
        try:
            await transition(desk, ticket_no, "closed", SYSTEM)
        except IllegalTransition:
            continue
    return len(due)
