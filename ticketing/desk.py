"""What the ticketing use cases need, built once by the composition root (server.app)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from classifier.regions import Regions
from classifier.triage import Triager
from ticketing.sla import SlaPolicy
from ticketing.uow import UnitOfWork
from ticketing.vocabulary import Templates, Vocabulary

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ComplaintPolicy:
    owner: str = "投诉专员"  # who takes a new complaint (投诉追踪专岗) until someone is named
    investigate_within: timedelta = timedelta(hours=24)  # received → investigating
    remedy_within: timedelta = timedelta(hours=72)  # received → remedied


@dataclass(frozen=True)
class Desk:
    sessions: async_sessionmaker[AsyncSession]
    writer: Engine  # sync engine of the same database, for the intake hot path (threads)
    classifier: Triager
    regions: Regions
    vocabulary: Vocabulary
    templates: Templates
    sla: SlaPolicy = SlaPolicy()
    prefix: str = "XC"
    zone: ZoneInfo = ZoneInfo("Asia/Shanghai")
    review_threshold: float = 0.5
    clock: Callable[[], datetime] = field(default=utc_now)
    supervisor_email: str | None = None  # told of P1 reports and missed deadlines
    public_url: str = "http://127.0.0.1:8080"  # where users reach us (survey links)
    complaints: ComplaintPolicy = ComplaintPolicy()
    sms_enabled: bool = False  # an SMS adapter is configured: hotline callers get notices

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    async def transact(self, work: Callable[[Connection], T]) -> T:
        """Run Core `work` in one transaction of the writer engine, off the event loop."""

        def run() -> T:
            with self.writer.begin() as conn:
                return work(conn)

        return await asyncio.to_thread(run)
