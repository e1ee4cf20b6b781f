"""The outbox dispatcher: delivers queued rows through the channels, with retries.

A row is claimed by pushing its `next_attempt_at` one lease into the future in a short
transaction (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several processes share the work;
SQLite's writer lock does the same there). It is then handed to its channel's delivery function
outside any transaction. Success marks it sent; a temporary failure schedules the next attempt
with exponential backoff; a permanent failure, or too many attempts, marks it dead and records a
`notice_failed` event on its ticket, where agents see it. A process that dies mid-delivery leaves
the row pending: it is delivered again when the lease runs out (at least once; WeChat template
messages carry the outbox id as `client_msg_id`, so WeChat drops the repeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from ticketing import audit
from ticketing.desk import Desk
from ticketing.orm import OutboxMessage

log = logging.getLogger(__name__)
_OUTBOX = OutboxMessage.__table__


class DeliveryFailed(Exception):
    """Raised by a delivery function. `permanent`: retrying cannot help (a bad recipient, a
    refused template); otherwise the row is tried again later."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class OutboxItem:
    id: int
    dedupe_key: str
    channel: str
    recipient: str
    kind: str
    subject: str | None
    body: str
    payload: dict[str, Any]
    work_order_id: int | None
    attempts: int  # including the one in progress


Deliver = Callable[[OutboxItem], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=5)
    ceiling: timedelta = timedelta(hours=1)
    max_attempts: int = 10

    def delay(self, attempts: int) -> timedelta:
        """5 s, 10 s, 20 s … up to the ceiling, after the `attempts`-th failure."""
        return min(self.base * 2 ** max(attempts - 1, 0), self.ceiling)


class OutboxDispatcher:
    def __init__(
        self,
        desk: Desk,
        channels: Mapping[str, Deliver],
        *,
        policy: RetryPolicy = RetryPolicy(),
        policies: Mapping[str, RetryPolicy] | None = None,  # per channel, over `policy`
        batch: int = 20,
        lease: timedelta = timedelta(minutes=2),
        poll_seconds: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        self._desk = desk
        self._channels = dict(channels)
        self._policy = policy
        self._policies = dict(policies or {})
        self._batch = batch
        self._lease = lease
        self._poll = poll_seconds
        self._limit = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None and self._channels:
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.dispatch_once()
            except Exception:  # the database away for a moment: try again at the next poll
                log.exception("outbox dispatch failed")
                handled = 0
            if handled < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._poll)
                self._wakeup.clear()

    async def dispatch_once(self) -> int:
        """Claim the rows that are due and deliver them; returns how many were handled."""
        items = await asyncio.to_thread(self._claim)
        await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: OutboxItem) -> None:
        async with self._limit:
            try:
                await self._channels[item.channel](item)
            except DeliveryFailed as exc:
                await asyncio.to_thread(self._failed, item, exc.reason, exc.permanent)
            except Exception as exc:  # a bug or an unexpected answer: retry, keep the reason
                log.exception("delivering outbox row %d failed", item.id)
                await asyncio.to_thread(self._failed, item, f"{type(exc).__name__}: {exc}", False)
            else:
                await asyncio.to_thread(self._sent, item)

    def _claim(self) -> list[OutboxItem]:
        now = self._desk.clock()
        with self._desk.writer.begin() as conn:
            stmt = (
                select(
                    _OUTBOX.c.id,
                    _OUTBOX.c.dedupe_key,
                    _OUTBOX.c.channel,
                    _OUTBOX.c.recipient,
                    _OUTBOX.c.kind,
                    _OUTBOX.c.subject,
                    _OUTBOX.c.body,
                    _OUTBOX.c.payload,
                    _OUTBOX.c.work_order_id,
                    _OUTBOX.c.attempts,
                )
                .where(
                    _OUTBOX.c.status == "pending",
                    _OUTBOX.c.next_attempt_at <= now,
                    _OUTBOX.c.channel.in_(self._channels),
                )
                .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
                .limit(self._batch)
            )
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = conn.execute(stmt).all()
            if not rows:
                return []
            conn.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id.in_([r.id for r in rows]))
                .values(next_attempt_at=now + self._lease, attempts=_OUTBOX.c.attempts + 1)
            )
        return [
            OutboxItem(**(dict(r._mapping) | {"attempts": r.attempts + 1})) for r in rows
        ]

    def _sent(self, item: OutboxItem) -> None:
        with self._desk.writer.begin() as conn:
            conn.execute(
                update(_OUTBOX)
                .where(_OUTBOX.c.id == item.id)
                .values(status="sent", sent_at=self._desk.clock(), last_error=None)
            )

    def _failed(self, item: OutboxItem, reason: str, permanent: bool) -> None:
        now = self._desk.clock()
        policy = self._policies.get(item.channel, self._policy)
        dead = permanent or item.attempts >= policy.max_attempts
        values: dict[str, Any] = {"last_error": reason[:2000]}
        if dead:
            values["status"] = "dead"
        else:
            values["next_attempt_at"] = now + policy.delay(item.attempts)
        with self._desk.writer.begin() as conn:
            conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == item.id).values(**values))
            if dead and item.work_order_id is not None:
                audit.record_sync(
                    conn,
                    at=now,
                    actor="dispatcher",
                    action="notice_failed",
                    work_order_id=item.work_order_id,
                    data={
                        "outbox_id": item.id,
                        "channel": item.channel,
                        "kind": item.kind,
                        "attempts": item.attempts,
                        "reason": reason[:500],
                    },
                )
        log.warning(
            "outbox row %d (%s %s) %s: %s",
            item.id, item.channel, item.kind, "dead" if dead else "will retry", reason,
        )
