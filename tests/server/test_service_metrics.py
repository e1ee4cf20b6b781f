"""The service rates over a small data set built through the API (hotline tickets, phone
surveys, the complaint ledger), worked out by hand: this checks the queries, not only the
arithmetic (tests/ticketing/test_service_rates.py)."""

from __future__ import annotations

from tests.server.conftest import Api
from tests.server.test_care_api import phone_ticket, walk_to_closed


async def post(api: Api, path: str, **body: object) -> dict:
    status, answer = await api.call("POST", path, json=body)
    assert status in (200, 201), answer
    return answer


async def test_rates_by_hand(api: Api) -> None:
    pleased = await phone_ticket(api, "13607710001", "打印机卡纸")
    annoyed = await phone_ticket(api, "13607710002", "扫描仪无法连接")
    complained = await phone_ticket(api, "13607710003", "电脑蓝屏")
    waiting = await phone_ticket(api, "13607710004", "邮箱收不到邮件")
    for no in (pleased, annoyed):
        await walk_to_closed(api, no)  # responded and resolved at once: within every deadline
    await post(api, f"/api/v1/tickets/{pleased}/survey", satisfaction="very_satisfied")
    await post(api, f"/api/v1/tickets/{annoyed}/survey", satisfaction="dissatisfied")
    await post(api, f"/api/v1/tickets/{complained}/transitions", to="accepted")
    await post(api, f"/api/v1/tickets/{complained}/transitions", to="responded",
               handling_mode="onsite")
    settled = await post(api, f"/api/v1/tickets/{complained}/complaints", summary="等了一上午")
    number = settled["complaint_no"]
    await post(api, f"/api/v1/complaints/{number}/transitions", to="investigating")
    await post(api, f"/api/v1/complaints/{number}/transitions", to="remedied", remedy="上门致歉")
    await post(api, f"/api/v1/complaints/{number}/transitions", to="confirmed", note="认可")
    await post(api, f"/api/v1/tickets/{waiting}/complaints", summary="没人理")
    api.desk.clock.advance(hours=5)  # type: ignore[attr-defined]  # the tests' movable clock

    status, figures = await api.call("GET", "/api/v1/metrics/service", who="supervisor")
    assert status == 200, figures
    total = figures["total"]
    assert total["tickets"] == 4
    assert total["completion_rate"] == 0.5  # two of four closed
    assert total["complaints"] == 2
    assert total["complaint_resolution_rate"] == 0.5  # one confirmed by its user
    assert total["complaints_by_status"] == {"received": 1, "investigating": 0, "remedied": 0,
                                             "confirmed": 1}
    assert total["satisfaction"] == {"very_satisfied": 1, "satisfied": 0, "neutral": 0,
                                     "dissatisfied": 1, "very_dissatisfied": 0}
    assert total["satisfaction_score"] == 3.5  # (5 + 2) / 2
    assert total["survey_response_rate"] == 1.0  # two surveys (phone callbacks), two answers
    # respond: four due after 5 hours, the waiting one never answered
    assert total["sla"]["respond"] == {"due": 4, "met": 3, "rate": 0.75}
    # arrive: only the on-site one counts; no site known, so the stricter 4 hours apply,
    # passed 5 hours on with nobody there
    status, onsite = await api.call("GET", f"/api/v1/tickets/{complained}")
    assert onsite["same_city"] is None
    assert onsite["arrive_due"] == "2026-11-27T04:55:00+00:00"  # reported 08:55 (+08) + 4 h
    assert total["sla"]["arrive"] == {"due": 1, "met": 0, "rate": 0.0}
    # resolve: the two closed ones met; the others are not yet due (24 h or more)
    assert total["sla"]["resolve"] == {"due": 2, "met": 2, "rate": 1.0}
    assert list(figures["by_month"]) == ["2026-11"]
    assert figures["by_month"]["2026-11"] == total
    assert list(figures["by_vendor"]) == ["（未定主责）"]

    # a period that holds none of them
    status, empty = await api.call("GET", "/api/v1/metrics/service?from=2026-10-01&to=2026-10-31",
                                   who="supervisor")
    assert status == 200 and empty["total"]["tickets"] == 0
    assert empty["total"]["complaint_resolution_rate"] is None
