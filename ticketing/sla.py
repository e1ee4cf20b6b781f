"""SLA deadlines of the standard: respond 1 h; on site 4 h 同城 / 12 h 异地; solve 24 h / 48 h."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SlaPolicy:
    respond_hours: float = 1
    same_city_arrive_hours: float = 4
    same_city_resolve_hours: float = 24
    remote_arrive_hours: float = 12
    remote_resolve_hours: float = 48


@dataclass(frozen=True)
class Deadlines:
    respond_due: datetime
    arrive_due: datetime
    resolve_due: datetime


def deadlines(policy: SlaPolicy, reported_at: datetime, same_city: bool | None) -> Deadlines:
    """Deadlines run from when the channel received the report (wall-clock, 7×24).

    When the site is unknown (`same_city` None) the stricter 同城 limits apply until someone
    sets the site: a deadline that turns out too early is a nuisance, one too late is a breach.
    """
    if reported_at.tzinfo is None:
        raise ValueError("reported_at must be timezone-aware")
    remote = same_city is False
    arrive = policy.remote_arrive_hours if remote else policy.same_city_arrive_hours
    resolve = policy.remote_resolve_hours if remote else policy.same_city_resolve_hours
    return Deadlines(
        respond_due=reported_at + timedelta(hours=policy.respond_hours),
        arrive_due=reported_at + timedelta(hours=arrive),
        resolve_due=reported_at + timedelta(hours=resolve),
    )
