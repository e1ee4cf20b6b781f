"""When each running deadline of a work order needs looking at (pure; the SLA watcher acts).

A deadline still running — respond; arrive, when the handling is on site; resolve — has two
marks: its 75 % point (a warning) and the deadline itself (a breach).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ticketing.lifecycle import Status

WARN_AT = 0.75
# the deadline, and the stamp that meets it
_DEADLINES = (("respond", "respond_due", "responded_at"),
              ("arrive", "arrive_due", "arrived_at"),
              ("resolve", "resolve_due", "completed_at"))  # fmt: skip
_CLOSED = (Status.RESOLVED.value, Status.CLOSED.value)


def milestones(row: Any) -> list[tuple[str, datetime]]:
    """(mark, moment) of every deadline still running on the ticket, in time order."""
    if row.status in _CLOSED:
        return []
    found = []
    for name, due_column, stamp in _DEADLINES:
        due, done = getattr(row, due_column), getattr(row, stamp)
        if due is None or done is not None:
            continue
        if name == "arrive" and row.handling_mode != "onsite":
            continue
        found.append((f"{name}:75", row.reported_at + (due - row.reported_at) * WARN_AT))
        found.append((f"{name}:100", due))
    return sorted(found, key=lambda m: m[1])


def next_check(row: Any, marks: list[str]) -> datetime | None:
    pending = [moment for mark, moment in milestones(row) if mark not in marks]
    return min(pending) if pending else None


_STAMPS = ("responded_at", "arrived_at", "completed_at")


def first_check(values: dict[str, Any]) -> datetime | None:
    """`sla_check_at` of a new work order (its row values, before any stamp)."""
    row = _Row({stamp: None for stamp in _STAMPS} | values)
    return next_check(row, [])


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
