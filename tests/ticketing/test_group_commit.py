"""Group commit: many concurrent callers, few transactions, nobody answered before commit."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ticketing import intake
from ticketing.desk import Desk
from ticketing.fields import InvalidField
from ticketing.group_commit import GroupCommitter
from ticketing.model import Inbound, Sender
from ticketing.orm import InboundMessage, WorkOrder

REPORTED = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def message(i: int, **fields: object) -> Inbound:
    return Inbound(
        channel_detail="wechat",
        external_id=f"m{i}",
        received_at=REPORTED,
        text=f"打印机卡纸 {i}",
        sender=Sender(wechat_openid=f"o{i}"),
        fields=dict(fields),
    )


async def rows(desk: Desk, model: type) -> int:
    async with desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_concurrent_callers_share_transactions(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    real = intake.receive_many

    async def counting(d: Desk, inbounds: list[Inbound]) -> list:
        batches.append(len(inbounds))
        return await real(d, inbounds)

    monkeypatch.setattr(intake, "receive_many", counting)
    committer = GroupCommitter(desk, max_batch=16)
    await committer.start()
    results = await asyncio.gather(*(committer.receive(message(i)) for i in range(40)))
    await committer.stop()
    assert [r.outcome for r in results] == ["created"] * 40
    assert len({r.ticket_no for r in results}) == 40
    assert sum(batches) == 40 and len(batches) < 40 and max(batches) <= 16
    assert await rows(desk, WorkOrder) == 40


async def test_bad_message_fails_alone(desk: Desk) -> None:
    committer = GroupCommitter(desk)
    await committer.start()
    results = await asyncio.gather(
        committer.receive(message(1)),
        committer.receive(message(2, level="P9")),
        committer.receive(message(3)),
        return_exceptions=True,
    )
    await committer.stop()
    assert isinstance(results[1], InvalidField)
    assert results[0].outcome == results[2].outcome == "created"  # type: ignore[union-attr]


async def test_a_batch_that_breaks_is_retried_one_by_one(desk: Desk) -> None:
    """A message that breaks the whole transaction (here a text the database refuses) must not
    take the other messages of its batch with it."""
    poison = replace(message(2), external_id="x" * 400)  # longer than the column allows on PG
    committer = GroupCommitter(desk)
    await committer.start()
    results = await asyncio.gather(
        committer.receive(message(1)),
        committer.receive(poison),
        committer.receive(message(3)),
        return_exceptions=True,
    )
    await committer.stop()
    assert results[0].outcome == "created"  # type: ignore[union-attr]
    assert results[2].outcome == "created"  # type: ignore[union-attr]
    if desk.sessions.kw["bind"].dialect.name == "postgresql":
        assert isinstance(results[1], Exception)
        assert await rows(desk, InboundMessage) == 2
