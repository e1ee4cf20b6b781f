"""Deadline warnings and breaches with a controllable clock, each exactly once, also with two
watchers running at the same moment (advisory lock on PostgreSQL, writer lock on SQLite)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from sqlalchemy import select

from tests.conftest import Clock
from ticketing import intake
from ticketing.desk import Desk
from ticketing.directory import add_vendor
from ticketing.model import Inbound, Sender
from ticketing.orm import Event, OutboxMessage, WorkOrder
from ticketing.sla_watch import SlaWatcher
from ticketing.workflow import Actor, transition

AGENT = Actor(name="agent:王", role="agent")


async def open_ticket(desk: Desk, text: str = "OA系统报错", level: str = "P3",
                      vendor: str | None = "甲公司", n: int = 1) -> str:
    fields: dict[str, object] = {"level": level, "product_category": "application"}
    if vendor:
        async with desk.uow() as uow:
            await add_vendor(uow.session, vendor, desk.clock(), email="ops@jia.example")
            await uow.commit()
        fields["primary_vendor"] = vendor
    result = await intake.receive(desk, Inbound(
        channel_detail="api", external_id=f"sla-{n}", received_at=desk.clock(), text=text,
        sender=Sender(phone="13800771234"), fields=fields,
    ))
    assert result.ticket_no is not None
    return result.ticket_no


async def actions(desk: Desk) -> list[str]:
    async with desk.sessions() as session:
        return list(await session.scalars(
            select(Event.data["mark"].as_string()).where(
                Event.action.in_(["sla_warning", "sla_breach"])).order_by(Event.id)))


async def outbox_keys(desk: Desk) -> list[str]:
    async with desk.sessions() as session:
        return list(await session.scalars(select(OutboxMessage.dedupe_key)
                                          .order_by(OutboxMessage.id)))


async def test_warning_at_75_breach_at_100_each_once(desk: Desk, clock: Clock) -> None:
    desk = replace(desk, supervisor_email="jdj@gxzf.gov.cn")
    no = await open_ticket(desk)
    watcher = SlaWatcher(desk)
    run = lambda: asyncio.to_thread(watcher.run_once)  # noqa: E731
    assert (await run()).tickets == 0
    clock.advance(minutes=44)
    assert (await run()).warnings == 0  # 44 of 60 minutes: not yet 75 %
    clock.advance(minutes=1)
    result = await run()
    assert (result.tickets, result.warnings, result.breaches) == (1, 1, 0)
    assert (await run()).tickets == 0  # nothing due again until the deadline
    clock.advance(minutes=15)
    assert (await run()).breaches == 1
    assert await actions(desk) == ["respond:75", "respond:100"]
    keys = await outbox_keys(desk)
    assert [k for k in keys if k.endswith(":warn_respond")] == [
        k for k in keys if k.startswith(f"route:{no}:") and k.endswith(":warn_respond")
    ] != []
    assert f"supervisor:{no}:breach:respond:100" in keys
    # responding late still ends the respond watch; the resolve deadline is watched next
    await transition(desk, no, "accepted", AGENT)
    await transition(desk, no, "responded", AGENT, {"handling_mode": "online"})
    clock.advance(hours=24)
    await run()
    assert await actions(desk) == ["respond:75", "respond:100", "resolve:75", "resolve:100"]
    async with desk.sessions() as session:
        order = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == no))
        filed = list(await session.scalars(select(Event.action).where(
            Event.action.in_(["escalated", "bureau_filed"])).order_by(Event.id)))
    assert order is not None and order.escalation_tier == 2 and order.sla_check_at is None
    assert filed == ["escalated", "bureau_filed"]


async def test_a_resolved_ticket_is_no_longer_watched(desk: Desk, clock: Clock) -> None:
    no = await open_ticket(desk, vendor=None)
    await transition(desk, no, "accepted", AGENT)
    await transition(desk, no, "responded", AGENT, {"handling_mode": "online"})
    await transition(desk, no, "resolved", AGENT, {"solution": "重置密码"})
    clock.advance(days=3)
    result = await asyncio.to_thread(SlaWatcher(desk).run_once)
    assert (result.warnings, result.breaches) == (0, 0)


async def test_arrival_is_watched_only_when_on_site(desk: Desk, clock: Clock) -> None:
    no = await open_ticket(desk, vendor=None)
    await transition(desk, no, "accepted", AGENT)
    await transition(desk, no, "responded", AGENT, {"handling_mode": "onsite"})
    clock.advance(hours=4, minutes=1)
    await asyncio.to_thread(SlaWatcher(desk).run_once)
    assert await actions(desk) == ["arrive:75", "arrive:100"]


async def test_p1_tells_the_supervisor_at_once(desk: Desk) -> None:
    desk = replace(desk, supervisor_email="jdj@gxzf.gov.cn")
    no = await open_ticket(desk, "全局服务器宕机，全部业务停止", level="P1", vendor=None)
    async with desk.sessions() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "supervisor"))
    assert row is not None and row.recipient == "jdj@gxzf.gov.cn" and no in (row.subject or "")


async def test_two_watchers_at_once_warn_once(desk: Desk, clock: Clock) -> None:
    for n in range(20):
        await open_ticket(desk, f"第{n}个问题", vendor="甲公司", n=n)
    clock.advance(minutes=50)
    watchers = [SlaWatcher(desk), SlaWatcher(desk)]
    barrier = threading.Barrier(2)
    results = []

    def run(w: SlaWatcher) -> None:
        barrier.wait()
        results.append(w.run_once())

    await asyncio.gather(*(asyncio.to_thread(run, w) for w in watchers))
    assert sum(r.warnings for r in results) == 20
    assert len(await actions(desk)) == 20
    keys = await outbox_keys(desk)
    assert len(keys) == len(set(keys))
    assert sum("warn_respond" in k for k in keys) == 20
