"""Transitions against the database: stamps, events, and refusals that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ticketing import intake
from ticketing.desk import Desk
from ticketing.lifecycle import IllegalTransition, MissingField
from ticketing.model import Inbound, Sender
from ticketing.orm import Event, WorkOrder
from ticketing.workflow import Actor, TicketNotFound, transition

AGENT = Actor(name="agent:王", role="agent")


async def new_ticket(desk: Desk) -> str:
    result = await intake.receive(
        desk,
        Inbound(
            channel_detail="wechat",
            external_id="m1",
            received_at=datetime(2026, 11, 27, 0, 58, tzinfo=UTC),
            text="电脑无法开机",
            sender=Sender(wechat_openid="o1"),
        ),
    )
    return result.ticket_no


async def snapshot(desk: Desk, ticket_no: str) -> tuple[WorkOrder, list[Event]]:
    async with desk.sessions() as session:
        wo = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
        assert wo is not None
        events = list(
            await session.scalars(
                select(Event).where(Event.work_order_id == wo.id).order_by(Event.id)
            )
        )
    return wo, events


async def test_full_onsite_life_stamps_each_field_once(desk: Desk) -> None:
    no = await new_ticket(desk)
    stamps = {}
    for target, field, extra in (
        ("accepted", "accepted_at", {}),
        ("responded", "responded_at", {"engineer": "张工", "plan": "下午上门"}),
        ("onsite", "arrived_at", {}),
        ("resolved", "completed_at", {"solution": "更换电源"}),
        ("closed", "closed_at", {}),
    ):
        desk.clock.advance(minutes=30)  # type: ignore[attr-defined]
        await transition(desk, no, target, AGENT, extra)
        stamps[field] = desk.clock()
        wo, _ = await snapshot(desk, no)
        assert wo.status == target
        assert getattr(wo, field) == desk.clock()
    wo, events = await snapshot(desk, no)
    for field, moment in stamps.items():
        assert getattr(wo, field) == moment
    assert wo.handling_mode == "onsite"
    assert wo.solution == "更换电源"
    moves = [(e.old, e.new) for e in events if e.action == "transition"]
    assert moves == [
        ("received", "accepted"),
        ("accepted", "responded"),
        ("responded", "onsite"),
        ("onsite", "resolved"),
        ("resolved", "closed"),
    ]
    assert all(e.actor == "agent:王" for e in events if e.action != "created")
    responded = next(e for e in events if e.new == "responded")
    assert responded.data == {"engineer": "张工", "plan": "下午上门"}


async def test_reopen_keeps_first_response_and_takes_latest_completion(desk: Desk) -> None:
    no = await new_ticket(desk)
    await transition(desk, no, "accepted", AGENT)
    await transition(desk, no, "responded", AGENT, {"handling_mode": "online"})
    first_response = desk.clock()
    await transition(desk, no, "resolved", AGENT, {"solution": "远程重装驱动"})
    desk.clock.advance(hours=2)  # type: ignore[attr-defined]
    await transition(desk, no, "reopened", AGENT, {"reason": "用户反馈仍不能打印"})
    await transition(desk, no, "responded", AGENT)
    desk.clock.advance(hours=1)  # type: ignore[attr-defined]
    await transition(desk, no, "resolved", AGENT, {"solution": "更换打印机主板"})
    wo, _ = await snapshot(desk, no)
    assert wo.responded_at == first_response
    assert wo.completed_at == desk.clock()
    assert wo.solution == "更换打印机主板"
    assert wo.handling_mode == "online"


@pytest.mark.parametrize(
    "path,bad",
    [
        ([], "resolved"),
        ([], "closed"),
        (["accepted"], "onsite"),
        (["accepted"], "accepted"),
        (["accepted", "responded"], "closed"),
    ],
)
async def test_illegal_transition_changes_nothing(desk: Desk, path: list[str], bad: str) -> None:
    no = await new_ticket(desk)
    for step in path:
        await transition(desk, no, step, AGENT)
    before, events_before = await snapshot(desk, no)
    with pytest.raises(IllegalTransition):
        await transition(desk, no, bad, AGENT, {"solution": "x"} if bad == "resolved" else {})
    after, events_after = await snapshot(desk, no)
    assert after.status == before.status
    assert after.updated_at == before.updated_at
    assert len(events_after) == len(events_before)


async def test_missing_solution_changes_nothing(desk: Desk) -> None:
    no = await new_ticket(desk)
    await transition(desk, no, "accepted", AGENT)
    await transition(desk, no, "responded", AGENT)
    with pytest.raises(MissingField):
        await transition(desk, no, "resolved", AGENT)
    wo, _ = await snapshot(desk, no)
    assert wo.status == "responded" and wo.completed_at is None


async def test_vendor_cannot_touch_another_vendors_ticket(desk: Desk) -> None:
    no = await new_ticket(desk)
    with pytest.raises(TicketNotFound):
        await transition(desk, no, "accepted", Actor("vendor:x", "vendor", vendor_id=999))
