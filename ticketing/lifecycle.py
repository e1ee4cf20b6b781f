"""The work-order lifecycle as one explicit state machine.

received → accepted → responded → (onsite) → resolved → closed; `reopened` returns a resolved or
closed ticket to work. Each transition names the timestamp field it stamps. The response, arrival
and acceptance stamps keep their first value (the SLA is measured against the first response);
completion and closure take the latest one, so a reopened ticket shows when it was really done.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    RESPONDED = "responded"
    ONSITE = "onsite"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


@dataclass(frozen=True)
class Step:
    stamp: str | None  # the work-order field this transition stamps
    keep_first: bool  # keep an earlier stamp (first response) instead of overwriting it
    requires: tuple[str, ...] = ()  # fields the caller must supply
    allowed: tuple[str, ...] = ()  # optional fields the caller may supply


_RESPOND_FIELDS = ("handling_mode", "engineer", "plan", "expected_arrival")

# target status -> what moving into it does
STEPS: dict[Status, Step] = {
    Status.ACCEPTED: Step("accepted_at", keep_first=True),
    Status.RESPONDED: Step("responded_at", keep_first=True, allowed=_RESPOND_FIELDS),
    Status.ONSITE: Step("arrived_at", keep_first=True, allowed=("engineer",)),
    Status.RESOLVED: Step("completed_at", keep_first=False, requires=("solution",)),
    Status.CLOSED: Step("closed_at", keep_first=False),
    Status.REOPENED: Step(None, keep_first=False, requires=("reason",)),
}

# from -> the statuses it may move to
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.ACCEPTED}),
    Status.ACCEPTED: frozenset({Status.RESPONDED}),
    Status.RESPONDED: frozenset({Status.ONSITE, Status.RESOLVED}),
    Status.ONSITE: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.RESPONDED, Status.ONSITE, Status.RESOLVED}),
}

OPEN_STATUSES: frozenset[Status] = frozenset(Status) - {Status.CLOSED}

class IllegalTransition(Exception):
    def __init__(self, current: Status, target: Status) -> None:
        super().__init__(f"illegal transition {current} -> {target}")
        self.current = current
        self.target = target


class MissingField(Exception):
    def __init__(self, target: Status, field: str) -> None:
        super().__init__(f"moving to {target} needs {field}")
        self.target = target
        self.field = field


class UnknownField(Exception):
    def __init__(self, target: Status, field: str) -> None:
        super().__init__(f"moving to {target} does not take {field}")
        self.target = target
        self.field = field


class UnknownStatus(Exception):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown status {value!r}")
        self.value = value


def parse_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise UnknownStatus(value) from None


def plan(current: Status, target: Status, supplied: dict[str, object]) -> Step:
    """Check a transition and what the caller supplied; return the step to apply."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    step = STEPS[target]
    for name in step.requires:
        value = supplied.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingField(target, name)
    for name in supplied:
        if name not in step.requires and name not in step.allowed:
            raise UnknownField(target, name)
    return step
