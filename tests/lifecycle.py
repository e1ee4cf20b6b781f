"""Moving a ticket through its lifecycle in tests, and reading it back."""

from __future__ import annotations

from sqlalchemy import select

from ticketing.desk import Desk
from ticketing.orm import WorkOrder
from ticketing.workflow import Actor, transition

AGENT = Actor(name="agent:王", role="agent")


async def close(desk: Desk, ticket_no: str) -> None:
    """Accept, respond (online), resolve and close."""
    for target, extra in (("accepted", {}), ("responded", {"handling_mode": "online"}),
                          ("resolved", {"solution": "重装打印驱动"}), ("closed", {})):
        await transition(desk, ticket_no, target, AGENT, extra)


async def order(desk: Desk, ticket_no: str) -> WorkOrder:
    async with desk.sessions() as session:
        found = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
    assert found is not None
    return found
