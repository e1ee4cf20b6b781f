"""Moving a work order through its lifecycle (accept, respond, on site, resolve, close, reopen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing import audit, notices
from ticketing.desk import Desk
from ticketing.fields import check_choice
from ticketing.lifecycle import Status, parse_status, plan
from ticketing.notices import progress_notice
from ticketing.orm import Contact, WorkOrder
from ticketing.sla_marks import next_check
from ticketing.surveys import send_survey


class TicketNotFound(Exception):
    def __init__(self, ticket_no: str) -> None:
        super().__init__(f"no ticket {ticket_no}")
        self.ticket_no = ticket_no


@dataclass(frozen=True)
class Actor:
    """Who acts: `name` goes into the event log; a vendor may touch only its own tickets."""

    name: str
    role: str  # agent / vendor / supervisor / system
    vendor_id: int | None = None

    def may_see(self, order: WorkOrder) -> bool:
        if self.role != "vendor":
            return True
        return order.primary_vendor_id == self.vendor_id or any(
            link.vendor_id == self.vendor_id for link in order.secondary_links
        )


async def load_order(
    session: AsyncSession, ticket_no: str, actor: Actor, *, lock: bool = False
) -> WorkOrder:
    """The ticket, or TicketNotFound: a vendor asking for another's ticket learns nothing.

    `lock` takes the row lock (PostgreSQL) so concurrent transitions of one ticket queue.
    """
    stmt = select(WorkOrder).where(WorkOrder.ticket_no == ticket_no)
    if lock:
        stmt = stmt.with_for_update(of=WorkOrder)
    order = await session.scalar(stmt)
    if order is None or not actor.may_see(order):
        raise TicketNotFound(ticket_no)
    return order


async def transition(
    desk: Desk,
    ticket_no: str,
    target: str,
    actor: Actor,
    supplied: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> WorkOrder:
    """Apply one lifecycle step; an illegal step raises and changes nothing."""
    supplied = {k: v for k, v in (supplied or {}).items() if v is not None}
    to = parse_status(target)
    async with desk.uow() as uow:
        session = uow.session
        order = await load_order(session, ticket_no, actor, lock=True)
        current = Status(order.status)
        step = plan(current, to, supplied)
        now = desk.clock()
        when = at or now
        changes: list[tuple[str, Any, Any]] = [("status", order.status, to.value)]
        if step.stamp is not None:
            old = getattr(order, step.stamp)
            if old is None or not step.keep_first:
                changes.append((step.stamp, old, when))
        if to is Status.ONSITE and order.handling_mode != "onsite":
            changes.append(("handling_mode", order.handling_mode, "onsite"))
        mode = supplied.get("handling_mode")
        if to is Status.RESPONDED and mode and mode != order.handling_mode:
            mode = check_choice("handling_mode", mode)
            changes.append(("handling_mode", order.handling_mode, mode))
        if to is Status.RESOLVED:
            changes.append(("solution", order.solution, supplied["solution"]))
        for field, old, new in changes:
            setattr(order, field, new)
            audit.record(
                session,
                at=now,
                actor=actor.name,
                action="transition" if field == "status" else "field_changed",
                work_order_id=order.id,
                field=field,
                old=old,
                new=new,
                data=supplied if field == "status" else None,
            )
        order.updated_at = now
        order.sla_check_at = next_check(order, list(order.sla_marks or []))
        contact = await session.get(Contact, order.contact_id) if order.contact_id else None
        notice = progress_notice(desk, order, contact, now, supplied)
        if notice is not None:
            await notices.queue(session, notice, now)
        if to is Status.CLOSED:
            await send_survey(desk, session, order, contact, now)
        await uow.commit()
        return order
