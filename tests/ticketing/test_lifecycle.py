"""The state machine alone: every pair of statuses is either a legal step or refused."""

from __future__ import annotations

import itertools

import pytest

from ticketing.lifecycle import (
    STEPS,
    TRANSITIONS,
    IllegalTransition,
    MissingField,
    Status,
    UnknownField,
    UnknownStatus,
    parse_status,
    plan,
)

LEGAL = {
    ("received", "accepted"),
    ("accepted", "responded"),
    ("responded", "onsite"),
    ("responded", "resolved"),
    ("onsite", "resolved"),
    ("resolved", "closed"),
    ("resolved", "reopened"),
    ("closed", "reopened"),
    ("reopened", "responded"),
    ("reopened", "onsite"),
    ("reopened", "resolved"),
}

REQUIRED = {"resolved": {"solution": "更换硒鼓"}, "reopened": {"reason": "用户反馈未解决"}}


def test_table_is_exactly_the_documented_lifecycle() -> None:
    table = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL


@pytest.mark.parametrize("current,target", sorted(LEGAL))
def test_legal_step_names_its_stamp(current: str, target: str) -> None:
    step = plan(Status(current), Status(target), dict(REQUIRED.get(target, {})))
    assert step is STEPS[Status(target)]


ILLEGAL = sorted(
    (a.value, b.value)
    for a, b in itertools.product(Status, Status)
    if (a.value, b.value) not in LEGAL
)


@pytest.mark.parametrize("current,target", ILLEGAL)
def test_illegal_step_is_refused(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        plan(Status(current), Status(target), dict(REQUIRED.get(target, {})))
    assert (info.value.current, info.value.target) == (current, target)


def test_stamps() -> None:
    assert {s.value: STEPS[s].stamp for s in STEPS} == {
        "accepted": "accepted_at",
        "responded": "responded_at",
        "onsite": "arrived_at",
        "resolved": "completed_at",
        "closed": "closed_at",
        "reopened": None,
    }


def test_resolve_needs_a_solution() -> None:
    with pytest.raises(MissingField) as info:
        plan(Status.ONSITE, Status.RESOLVED, {"solution": "  "})
    assert info.value.field == "solution"


def test_unknown_field_is_refused() -> None:
    with pytest.raises(UnknownField) as info:
        plan(Status.RECEIVED, Status.ACCEPTED, {"engineer": "张工"})
    assert info.value.field == "engineer"


def test_parse_status() -> None:
    assert parse_status("onsite") is Status.ONSITE
    with pytest.raises(UnknownStatus):
        parse_status("done")
