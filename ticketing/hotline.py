"""Hotline figures from the PBX's records: calls, answered within 30 s, abandoned, waits.

The standard wants the hotline answered within 30 seconds. A call's wait is from its start to
its answer (to its end, for a call never answered). Figures are given for the whole period, per
local day and per local hour of day; all of them come from one pure function, so they can be
checked by hand.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

ANSWER_TARGET_SECONDS = 30.0


@dataclass(frozen=True)
class Figures:
    calls: int
    answered: int
    answered_within_30s: int
    answered_within_30s_rate: float | None  # of all calls
    abandoned: int
    average_wait_seconds: float | None  # answered calls
    p90_wait_seconds: float | None  # answered calls, nearest rank


CallRow = tuple[datetime, datetime | None, datetime | None, str]


def figures(calls: Iterable[CallRow]) -> Figures:
    rows = list(calls)
    waits = sorted(
        (answered - started).total_seconds()
        for started, answered, _, outcome in rows
        if answered is not None and outcome == "answered"
    )
    within = sum(1 for w in waits if w <= ANSWER_TARGET_SECONDS)
    abandoned = sum(1 for _, answered, _, outcome in rows if outcome == "abandoned")
    return Figures(
        calls=len(rows),
        answered=len(waits),
        answered_within_30s=within,
        answered_within_30s_rate=round(within / len(rows), 4) if rows else None,
        abandoned=abandoned,
        average_wait_seconds=round(sum(waits) / len(waits), 1) if waits else None,
        p90_wait_seconds=waits[math.ceil(0.9 * len(waits)) - 1] if waits else None,
    )


def report(calls: Iterable[CallRow], zone: ZoneInfo) -> dict[str, Any]:
    """Totals, by local day (YYYY-MM-DD) and by local hour of day (00–23)."""
    rows = list(calls)
    by_day: dict[str, list[CallRow]] = defaultdict(list)
    by_hour: dict[str, list[CallRow]] = defaultdict(list)
    for row in rows:
        local = row[0].astimezone(zone)
        by_day[local.strftime("%Y-%m-%d")].append(row)
        by_hour[local.strftime("%H")].append(row)
    return {
        "total": asdict(figures(rows)),
        "by_day": {day: asdict(figures(r)) for day, r in sorted(by_day.items())},
        "by_hour": {hour: asdict(figures(r)) for hour, r in sorted(by_hour.items())},
    }
