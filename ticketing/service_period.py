"""Service periods of the standard: from the sale date, hardware is served free for at least
3 years and software for at least 1; either is served (free or paid) for at least 6 years.

"At least" decides the edges: the anniversary day itself is still covered, and a product sold
on 29 February reaches its anniversary on 1 March in a common year (never a day short).
Network and security products count as hardware: the category mixes switches and firewalls
with antivirus software, and the longer free period is the one a user cannot be wronged by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

HARDWARE = frozenset({"terminal", "peripheral", "server", "security"})
FREE_YEARS = {"hardware": 3, "software": 1}
SERVICE_YEARS = 6


@dataclass(frozen=True)
class ServicePeriod:
    kind: str  # hardware / software
    sale_date: date
    free_until: date  # last day of the free period (inclusive)
    service_until: date  # last day of the service period (inclusive)

    def in_free_period(self, on: date) -> bool:
        return self.sale_date <= on <= self.free_until

    def in_service_period(self, on: date) -> bool:
        return self.sale_date <= on <= self.service_until


def anniversary(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return date(day.year + years, 3, 1)


def service_period(sale_date: date, product_category: str | None) -> ServicePeriod:
    kind = "hardware" if product_category in HARDWARE else "software"
    return ServicePeriod(
        kind=kind,
        sale_date=sale_date,
        free_until=anniversary(sale_date, FREE_YEARS[kind]),
        service_until=anniversary(sale_date, SERVICE_YEARS),
    )
