"""Free and service periods at their edges."""

from __future__ import annotations

from datetime import date

import pytest

from ticketing.service_period import anniversary, service_period


@pytest.mark.parametrize(
    "category,kind,free_until",
    [
        ("terminal", "hardware", date(2026, 3, 15)),
        ("peripheral", "hardware", date(2026, 3, 15)),
        ("server", "hardware", date(2026, 3, 15)),
        ("security", "hardware", date(2026, 3, 15)),
        ("os", "software", date(2024, 3, 15)),
        ("office", "software", date(2024, 3, 15)),
        ("database", "software", date(2024, 3, 15)),
        (None, "software", date(2024, 3, 15)),
    ],
)
def test_hardware_three_years_software_one(category: str | None, kind: str,
                                           free_until: date) -> None:
    period = service_period(date(2023, 3, 15), category)
    assert (period.kind, period.free_until) == (kind, free_until)
    assert period.service_until == date(2029, 3, 15)


def test_the_anniversary_day_is_still_free_the_next_is_not() -> None:
    period = service_period(date(2023, 3, 15), "terminal")
    assert period.in_free_period(date(2026, 3, 15))
    assert not period.in_free_period(date(2026, 3, 16))
    assert period.in_service_period(date(2029, 3, 15))
    assert not period.in_service_period(date(2029, 3, 16))
    assert not period.in_free_period(date(2023, 3, 14))  # before the sale


def test_a_leap_day_sale_is_never_a_day_short() -> None:
    assert anniversary(date(2024, 2, 29), 1) == date(2025, 3, 1)
    assert anniversary(date(2024, 2, 29), 4) == date(2028, 2, 29)
    period = service_period(date(2024, 2, 29), "os")
    assert period.in_free_period(date(2025, 2, 28)) and period.in_free_period(date(2025, 3, 1))
    assert not period.in_free_period(date(2025, 3, 2))
