"""Service rates computed by hand for a small set of tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ticketing.service_rates import TicketFacts, report

T = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
H = timedelta(hours=1)


def facts(vendor: str | None, status: str, *, complaint: str | None = None, responded: float | None,
          completed: float | None, survey: bool = False, satisfaction: str | None = None,
          onsite: float | None = None, when: datetime = T) -> TicketFacts:
    return TicketFacts(
        vendor=vendor, reported_at=when, status=status, complaint=complaint,
        handling_mode="onsite" if onsite is not None else "online",
        respond_due=when + H, responded_at=None if responded is None else when + responded * H,
        arrive_due=when + 4 * H, arrived_at=None if onsite is None else when + onsite * H,
        resolve_due=when + 24 * H, completed_at=None if completed is None else when + completed * H,
        survey_sent=survey, satisfaction=satisfaction,
    )


ROWS = [
    facts("甲公司", "closed", responded=0.5, completed=20, survey=True,
          satisfaction="very_satisfied"),
    facts("甲公司", "closed", responded=2, completed=30, survey=True, satisfaction="dissatisfied",
          complaint="confirmed", onsite=3),
    facts("乙公司", "resolved", responded=0.9, completed=10, complaint="remedied"),
    facts("乙公司", "responded", responded=0.2, completed=None, survey=False, onsite=5),
    facts(None, "received", responded=None, completed=None,
          when=datetime(2026, 12, 1, 2, 0, tzinfo=UTC)),
]
NOW = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # the December ticket is not yet due anywhere


def test_totals_by_hand() -> None:
    total = report(ROWS, NOW, ZoneInfo("Asia/Shanghai"))["total"]
    assert total["tickets"] == 5
    assert total["completion_rate"] == 0.6  # 3 of 5 resolved or closed
    # two complaints, one the user confirmed settled
    assert (total["complaints"], total["complaint_resolution_rate"]) == (2, 0.5)
    assert total["complaints_by_status"] == {"received": 0, "investigating": 0, "remedied": 1,
                                             "confirmed": 1}
    assert total["satisfaction"] == {"very_satisfied": 1, "satisfied": 0, "neutral": 0,
                                     "dissatisfied": 1, "very_dissatisfied": 0}
    assert total["satisfaction_score"] == 3.5  # (5 + 2) / 2
    assert total["survey_response_rate"] == 1.0  # 2 sent, 2 answered
    # respond: 4 due (the December one is not), met by 0.5, 0.9, 0.2 h → 3 of 4
    assert total["sla"]["respond"] == {"due": 4, "met": 3, "rate": 0.75}
    # arrive: on site only; 3 h met, 5 h missed
    assert total["sla"]["arrive"] == {"due": 2, "met": 1, "rate": 0.5}
    # resolve: 20 h and 10 h met, 30 h missed, the open November one is past due
    assert total["sla"]["resolve"] == {"due": 4, "met": 2, "rate": 0.5}


def test_by_vendor_and_month() -> None:
    figures = report(ROWS, NOW, ZoneInfo("Asia/Shanghai"))
    assert set(figures["by_vendor"]) == {"甲公司", "乙公司", "（未定主责）"}
    assert figures["by_vendor"]["甲公司"]["completion_rate"] == 1.0
    assert figures["by_vendor"]["乙公司"]["survey_response_rate"] is None  # none sent
    assert list(figures["by_month"]) == ["2026-11", "2026-12"]
    assert figures["by_month"]["2026-12"]["sla"]["respond"]["due"] == 0
