"""Importing a CDR file: read it (cdr.py), then store it in one transaction (ticketing.calls).

`CdrFolderWatcher` imports every new file that appears in a folder: imported files move to
`imported/`, refused ones to `failed/` with a `.errors.txt` beside them saying which lines are
wrong. A file is taken only once it has stopped growing (the PBX may still be writing it).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.phone.cdr import CdrError, CdrRecord, GenericMapping, read_cdr
from ticketing.calls import ImportResult, PbxRecord, import_calls_sync
from ticketing.desk import Desk
from ticketing.periodic import Periodic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CdrSource:
    fmt: str
    zone: ZoneInfo
    mapping: GenericMapping | None = None


def pbx_record(record: CdrRecord) -> PbxRecord:
    return PbxRecord(
        unique_id=record.unique_id,
        caller=record.caller,
        started_at=record.started_at,
        outcome=record.outcome,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        caller_name=record.caller_name,
        callee=record.callee,
        agent=record.agent,
    )


def import_file(
    desk: Desk,
    path: Path,
    source: CdrSource,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Read and store one file; CdrError (nothing stored) when any row is wrong."""
    records = read_cdr(path.read_bytes(), source.fmt, source.zone, source.mapping)
    return import_calls_sync(desk, [pbx_record(r) for r in records], path.name, progress)


class CdrFolderWatcher:
    def __init__(
        self, desk: Desk, folder: Path, source: CdrSource, poll_seconds: float = 10.0
    ) -> None:
        self._desk = desk
        self._folder = folder
        self._source = source
        self._sizes: dict[Path, int] = {}
        self._loop = Periodic(f"cdr folder {folder}", poll_seconds,
                              lambda: asyncio.to_thread(self.scan))

    async def start(self) -> None:
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def scan(self) -> list[tuple[Path, ImportResult | CdrError]]:
        """Import every file that has stopped growing since the last scan."""
        done: list[tuple[Path, ImportResult | CdrError]] = []
        for path in sorted(p for p in self._folder.iterdir() if p.is_file()):
            if path.name.endswith(".errors.txt") or path.name.startswith("."):
                continue
            size = path.stat().st_size
            if self._sizes.get(path) != size:
                self._sizes[path] = size  # seen growing (or new): take it next time
                continue
            del self._sizes[path]
            done.append((path, self._take(path)))
        return done

    def _take(self, path: Path) -> ImportResult | CdrError:
        try:
            result = import_file(self._desk, path, self._source)
        except CdrError as exc:
            failed = self._folder / "failed"
            failed.mkdir(exist_ok=True)
            shutil.move(str(path), failed / path.name)
            (failed / f"{path.name}.errors.txt").write_text(str(exc) + "\n", encoding="utf-8")
            log.warning("cdr file %s refused: %s", path.name, exc)
            return exc
        imported = self._folder / "imported"
        imported.mkdir(exist_ok=True)
        shutil.move(str(path), imported / path.name)
        log.info("cdr file %s: %s", path.name, result)
        return result
