"""Queueing outbound messages.

Rows are written in the same transaction as the change that causes them, so a crash loses no
notice; the dedupe key makes a replayed change queue nothing new.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

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


@functools.cache
def _insert(dialect: str) -> Any:
    table = OutboxMessage.__table__
    return (
        upsert(dialect)(table)
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id)
    )


def enqueue(conn: Connection, message: Outbound, now: datetime) -> int | None:
    """Queue `message`; returns its id, or None when the same dedupe key is already queued."""
    params = asdict(message) | {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return (conn.execute(_insert(conn.dialect.name), params)).scalar_one_or_none()
