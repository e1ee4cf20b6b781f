"""Queueing outbound messages.

Rows are written in the same transaction as the change that causes them, so a crash loses no
notice; the dedupe key makes a replayed change queue nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import upsert
from ticketing.orm import OutboxMessage


@dataclass(frozen=True)
class Outbound:
    dedupe_key: str
    channel: str  # wechat / email / vendor_webhook …
    recipient: str
    kind: str  # ack / progress / survey …
    body: str
    subject: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    work_order_id: int | None = None


async def enqueue(session: AsyncSession, message: Outbound, now: datetime) -> int | None:
    """Queue `message`; returns its id, or None when the same dedupe key is already queued."""
    table = OutboxMessage.__table__
    stmt = (
        upsert(session)(table)
        .values(
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
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
