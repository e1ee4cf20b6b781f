"""The REST API over real HTTP: creation, reading, filters, transitions, roles."""

from __future__ import annotations

from tests.server.conftest import Api

REPORT = {
    "description": "财务科打印机卡纸，打不出报表",
    "org_name": "横州市财政局",
    "contact_name": "陆海燕",
    "contact_phone": "13607710003",
    "site_district": "横州市",
    "reported_at": "2026-11-27T08:50:00+08:00",
}


async def create(api: Api, who: str = "agent", **extra: object) -> dict:
    status, body = await api.call("POST", "/api/v1/tickets", who, json={**REPORT, **extra})
    assert status == 201, body
    return body


async def test_healthz_needs_no_token(api: Api) -> None:
    assert await api.call("GET", "/healthz", who=None) == (200, {"status": "ok"})


async def test_create_and_read_a_work_order_by_its_field_ids(api: Api) -> None:
    body = await create(api, primary_vendor="甲公司", secondary_vendors=["乙公司"])
    assert body["ticket_no"] == "XC-20261127-0001"
    assert body["channel"] == "online" and body["channel_detail"] == "api"
    assert body["reported_at"] == "2026-11-27T00:50:00+00:00"
    assert body["same_city"] is False and body["site_district"] == "横州市"
    assert body["arrive_due"] == "2026-11-27T12:50:00+00:00"
    assert body["primary_vendor"] == "甲公司" and body["secondary_vendors"] == ["乙公司"]
    assert body["product_category"] == "peripheral"
    status, again = await api.call("GET", f"/api/v1/tickets/{body['ticket_no']}")
    assert status == 200
    assert again == body


async def test_idempotency_key_makes_a_retried_post_harmless(api: Api) -> None:
    headers = {"Idempotency-Key": "req-42"}
    s1, first = await api.call("POST", "/api/v1/tickets", json=REPORT, headers=headers)
    s2, second = await api.call("POST", "/api/v1/tickets", json=REPORT, headers=dict(headers))
    assert (s1, s2) == (201, 200)
    assert first["ticket_no"] == second["ticket_no"]
    _, listing = await api.call("GET", "/api/v1/tickets")
    assert listing["total"] == 1


async def test_no_token_or_a_wrong_token_is_401(api: Api) -> None:
    status, body = await api.call("GET", "/api/v1/tickets", who=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert "令牌" in body["error"]["message"]
    status, _ = await api.call(
        "GET", "/api/v1/tickets", who=None, headers={"Authorization": "Bearer nope"}
    )
    assert status == 401


async def test_vendor_sees_only_its_own_tickets(api: Api) -> None:
    mine = await create(api, primary_vendor="甲公司")
    theirs = await create(api, primary_vendor="乙公司")
    copy = await create(api, primary_vendor="乙公司", secondary_vendors=["甲公司"])
    status, body = await api.call("GET", f"/api/v1/tickets/{theirs['ticket_no']}", "vendor_a")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, _ = await api.call(
        "POST", f"/api/v1/tickets/{theirs['ticket_no']}/transitions", "vendor_a",
        json={"to": "accepted"},
    )
    assert status == 404
    _, listing = await api.call("GET", "/api/v1/tickets", "vendor_a")
    assert {t["ticket_no"] for t in listing["items"]} == {mine["ticket_no"], copy["ticket_no"]}
    # as primary it sees the phone; as a secondary only a masked one
    by_no = {t["ticket_no"]: t for t in listing["items"]}
    assert by_no[mine["ticket_no"]]["contact_phone"] == "13607710003"
    assert by_no[copy["ticket_no"]]["contact_phone"] == "136****0003"
    _, all_of_them = await api.call("GET", "/api/v1/tickets", "supervisor")
    assert all_of_them["total"] == 3


async def test_vendor_may_not_create_close_or_backdate(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/tickets", "vendor_a", json=REPORT)
    assert status == 403 and body["error"]["code"] == "forbidden"
    ticket = await create(api, primary_vendor="甲公司")
    path = f"/api/v1/tickets/{ticket['ticket_no']}/transitions"
    status, _ = await api.call(
        "POST", path, "vendor_a", json={"to": "accepted", "at": "2026-11-27T08:55:00+08:00"}
    )
    assert status == 403
    assert (await api.call("POST", path, "vendor_a", json={"to": "accepted"}))[0] == 200
    assert (await api.call("POST", path, "vendor_a", json={"to": "responded"}))[0] == 200
    assert (
        await api.call("POST", path, "vendor_a", json={"to": "resolved", "solution": "清理搓纸轮"})
    )[0] == 200
    status, _ = await api.call("POST", path, "vendor_a", json={"to": "closed"})
    assert status == 403
    status, body = await api.call("POST", path, "agent", json={"to": "closed"})
    assert status == 200 and body["status"] == "closed" and body["closed_at"]


async def test_transition_errors_are_clear(api: Api) -> None:
    ticket = await create(api)
    path = f"/api/v1/tickets/{ticket['ticket_no']}/transitions"
    status, body = await api.call("POST", path, json={"to": "closed"})
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    assert body["error"]["message"] == (
        f"工单 {ticket['ticket_no']} 当前状态为“已接收”，不能转为“已闭环”。"
    )
    status, body = await api.call("POST", path, json={"to": "finished"})
    assert status == 400 and body["error"]["code"] == "unknown_status"
    status, body = await api.call("POST", path, json={"to": "accepted", "colour": "red"})
    assert status == 400 and body["error"]["code"] == "transition_unknown"
    status, body = await api.call("POST", path, data=b"{not json", headers={})
    assert status == 400 and body["error"]["code"] == "bad_json"
    _, after = await api.call("GET", f"/api/v1/tickets/{ticket['ticket_no']}")
    assert after["status"] == "received"


async def test_agent_may_backdate_a_step_but_not_into_the_future(api: Api) -> None:
    ticket = await create(api)
    path = f"/api/v1/tickets/{ticket['ticket_no']}/transitions"
    status, body = await api.call(
        "POST", path, json={"to": "accepted", "at": "2026-11-27T08:52:00+08:00"}
    )
    assert status == 200 and body["accepted_at"] == "2026-11-27T00:52:00+00:00"
    status, body = await api.call(
        "POST", path, json={"to": "responded", "at": "2030-01-01T00:00:00+08:00"}
    )
    assert status == 400 and body["error"]["code"] == "invalid_value"


async def test_bad_create_requests(api: Api) -> None:
    cases = [
        ({"org_name": "x"}, "missing_field"),
        ({**REPORT, "favourite_colour": "red"}, "unknown_field"),
        ({**REPORT, "level": "P7"}, "invalid_value"),
        ({**REPORT, "reported_at": "2026-11-27 08:50"}, "invalid_value"),
        ({**REPORT, "primary_vendor": "无名公司"}, "unknown_vendor"),
        (["not", "an", "object"], "body_not_object"),
    ]
    for payload, code in cases:
        status, body = await api.call("POST", "/api/v1/tickets", json=payload)
        assert (status, body["error"]["code"]) == (400, code), payload
    status, body = await api.call("POST", "/api/v1/tickets", data=b"x" * 300_000)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    _, listing = await api.call("GET", "/api/v1/tickets")
    assert listing["total"] == 0


async def test_list_filters_and_paging(api: Api) -> None:
    await create(api, description="服务器宕机，全单位都用不了", level="P1",
                 product_category="server", primary_vendor="甲公司")
    await create(api, description="请问WPS怎么设置默认字体", level="P4",
                 product_category="office", reported_at="2026-11-26T10:00:00+08:00")
    for i in range(3):
        await create(api, description=f"打印机卡纸 {i}", level="P3",
                     product_category="peripheral")
    async def total(query: str) -> int:
        status, body = await api.call("GET", "/api/v1/tickets" + query)
        assert status == 200, body
        return body["total"]
    assert await total("") == 5
    assert await total("?level=P1") == 1
    assert await total("?category=peripheral") == 3
    assert await total("?vendor=甲公司") == 1
    assert await total("?status=received") == 5
    assert await total("?status=closed") == 0
    assert await total("?from=2026-11-27") == 4
    assert await total("?to=2026-11-26") == 1
    assert await total("?from=2026-11-26&to=2026-11-26") == 1
    _, page = await api.call("GET", "/api/v1/tickets?per_page=2&page=3")
    assert (page["total"], len(page["items"]), page["page"]) == (5, 1, 3)
    for bad in ("?level=P9", "?per_page=0", "?from=yesterday", "?colour=red"):
        status, body = await api.call("GET", "/api/v1/tickets" + bad)
        assert status == 400, bad


async def test_unknown_route_is_a_json_404(api: Api) -> None:
    status, body = await api.call("GET", "/api/v1/nothing-here")
    assert status == 404 and body["error"]["code"] == "route_not_found"
