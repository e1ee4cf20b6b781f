"""The outbox dispatcher on both databases, with a recording channel: delivered once, retried
with backoff, dead after too many attempts (and visible on the ticket), re-delivered when a
process died mid-delivery, and never delivered twice by two dispatchers at once."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from tests.conftest import Clock
from ticketing import intake
from ticketing.desk import Desk
from ticketing.dispatch import DeliveryFailed, OutboxDispatcher, OutboxItem, RetryPolicy
from ticketing.model import Inbound, Sender
from ticketing.orm import Event, OutboxMessage, WorkOrder
from ticketing.outbox import Outbound, enqueue


def queue(desk: Desk, n: int = 1, work_order_id: int | None = None) -> None:
    with desk.writer.begin() as conn:
        for i in range(n):
            enqueue(
                conn,
                Outbound(
                    dedupe_key=f"test:{i}",
                    channel="test",
                    recipient=f"user-{i}",
                    kind="progress",
                    body=f"消息 {i}",
                    work_order_id=work_order_id,
                ),
                desk.clock(),
            )


async def rows(desk: Desk) -> list[OutboxMessage]:
    async with desk.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


class Channel:
    def __init__(self, failures: int = 0, permanent: bool = False) -> None:
        self.delivered: list[str] = []
        self.failures = failures
        self.permanent = permanent

    async def deliver(self, item: OutboxItem) -> None:
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("对方暂时不可用", permanent=self.permanent)
        await asyncio.sleep(0.001)
        self.delivered.append(item.recipient)


async def test_delivers_each_row_once(desk: Desk) -> None:
    queue(desk, 30)
    channel = Channel()
    dispatcher = OutboxDispatcher(desk, {"test": channel.deliver}, batch=20)
    assert await dispatcher.dispatch_once() == 20
    assert await dispatcher.dispatch_once() == 10
    assert await dispatcher.dispatch_once() == 0
    assert sorted(channel.delivered) == sorted(f"user-{i}" for i in range(30))
    assert {r.status for r in await rows(desk)} == {"sent"}


async def test_backoff_then_success(desk: Desk, clock: Clock) -> None:
    queue(desk)
    channel = Channel(failures=2)
    dispatcher = OutboxDispatcher(desk, {"test": channel.deliver})
    await dispatcher.dispatch_once()
    (row,) = await rows(desk)
    assert row.status == "pending" and row.attempts == 1 and row.last_error == "对方暂时不可用"
    assert row.next_attempt_at == clock() + RetryPolicy().delay(1)
    clock.advance(seconds=5)
    await dispatcher.dispatch_once()
    (row,) = await rows(desk)
    assert row.attempts == 2 and row.next_attempt_at == clock() + RetryPolicy().delay(2)
    clock.advance(seconds=10)
    await dispatcher.dispatch_once()
    assert channel.delivered == ["user-0"]
    assert [r.status for r in await rows(desk)] == ["sent"]


async def test_dead_after_max_attempts_with_an_event(desk: Desk, clock: Clock) -> None:
    result = await intake.receive(
        desk,
        Inbound(channel_detail="phone", external_id="call-1", received_at=clock(),
                text="打印机卡纸", sender=Sender(phone="13800001111")),
    )
    async with desk.sessions() as session:
        ticket_id = await session.scalar(
            select(WorkOrder.id).where(WorkOrder.ticket_no == result.ticket_no)
        )
    queue(desk, work_order_id=ticket_id)
    channel = Channel(failures=99)
    dispatcher = OutboxDispatcher(
        desk, {"test": channel.deliver}, policy=RetryPolicy(max_attempts=3)
    )
    for _ in range(5):
        await dispatcher.dispatch_once()
        clock.advance(hours=2)
    (row,) = await rows(desk)
    assert row.status == "dead" and row.attempts == 3
    async with desk.sessions() as session:
        events = list(await session.scalars(select(Event).where(Event.action == "notice_failed")))
    assert len(events) == 1 and events[0].work_order_id == ticket_id
    assert events[0].data["attempts"] == 3 and events[0].data["reason"] == "对方暂时不可用"


async def test_a_permanent_failure_is_not_retried(desk: Desk, clock: Clock) -> None:
    queue(desk)
    channel = Channel(failures=1, permanent=True)
    dispatcher = OutboxDispatcher(desk, {"test": channel.deliver})
    await dispatcher.dispatch_once()
    clock.advance(hours=2)
    assert await dispatcher.dispatch_once() == 0
    assert [r.status for r in await rows(desk)] == ["dead"]


async def test_a_row_claimed_by_a_process_that_died_is_delivered_after_the_lease(
    desk: Desk, clock: Clock
) -> None:
    queue(desk)
    crashed = OutboxDispatcher(desk, {"test": Channel().deliver})
    claimed = crashed._claim()  # claimed, then the process died before delivering
    assert len(claimed) == 1
    channel = Channel()
    survivor = OutboxDispatcher(desk, {"test": channel.deliver})
    assert await survivor.dispatch_once() == 0  # leased: not before the lease ends
    clock.advance(minutes=2)
    assert await survivor.dispatch_once() == 1
    assert channel.delivered == ["user-0"]
    (row,) = await rows(desk)
    assert row.status == "sent" and row.attempts == 2


async def test_two_dispatchers_never_deliver_a_row_twice(desk: Desk) -> None:
    queue(desk, 60)
    delivered: Counter[str] = Counter()

    async def deliver(item: OutboxItem) -> None:
        await asyncio.sleep(0.002)
        delivered[item.recipient] += 1

    a = OutboxDispatcher(desk, {"test": deliver}, batch=7)
    b = OutboxDispatcher(desk, {"test": deliver}, batch=7)
    for _ in range(12):
        await asyncio.gather(a.dispatch_once(), b.dispatch_once())
    assert len(delivered) == 60 and set(delivered.values()) == {1}


async def test_rows_of_channels_without_a_sender_wait(desk: Desk) -> None:
    queue(desk)
    dispatcher = OutboxDispatcher(desk, {"email": Channel().deliver})
    assert await dispatcher.dispatch_once() == 0
    assert [r.status for r in await rows(desk)] == ["pending"]
