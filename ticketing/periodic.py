"""Work repeated in the background of the service (the SLA watch, the CDR folder): one task
that runs a round, sleeps, and runs the next; a round that fails is logged and the next one
comes anyway (the database or the folder may be away for a moment)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self, name: str, interval: float, round_: Callable[[], Awaitable[object]]
    ) -> None:
        self._name = name
        self._interval = interval
        self._round = round_
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self._round()
            except Exception:
                log.exception("%s: round failed", self._name)
            await asyncio.sleep(self._interval)
