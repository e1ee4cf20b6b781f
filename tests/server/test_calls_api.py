"""The hotline over the REST API on a real port: logging calls, caller recognition, matching
with the PBX's records, the callback list and the 30-second figures, computed here by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.server.conftest import Api
from ticketing.calls import PbxRecord, import_calls_sync
from ticketing.orm import WorkOrder

T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 09:00 Beijing time (the test clock's now)


def at(seconds: float) -> str:
    return (T0 - timedelta(hours=1) + timedelta(seconds=seconds)).isoformat()


def moment(seconds: float) -> datetime:
    return T0 - timedelta(hours=1) + timedelta(seconds=seconds)


async def ticket(api: Api, ticket_no: str) -> WorkOrder:
    async with api.desk.sessions() as session:
        order = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
    assert order is not None
    return order


async def test_a_call_opens_a_phone_ticket_with_the_call_times(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/calls", json={
        "caller": "0771-5551234", "started_at": at(0), "answered_at": at(12),
        "summary": "财务科打印机卡纸，打不出公文", "caller_name": "张三",
        "org_name": "南宁市青秀区财政局",
    })
    assert status == 201, body
    no = body["ticket"]["ticket_no"]
    assert body["ticket"]["outcome"] == "created"
    order = await ticket(api, no)
    assert order.channel == "phone" and order.reported_at == moment(0)
    assert order.accepted_at == moment(12) and order.respond_due == moment(3600)
    assert body["caller"]["name"] == "张三" and body["caller"]["org_name"] == "南宁市青秀区财政局"
    assert [t["ticket_no"] for t in body["caller"]["open_tickets"]] == [no]
    status, who = await api.call("GET", "/api/v1/callers/07715551234")
    assert status == 200 and who["open_tickets"][0]["ticket_no"] == no


async def test_a_follow_up_call_joins_the_named_ticket(api: Api) -> None:
    _, first = await api.call("POST", "/api/v1/calls", json={
        "caller": "13800771234", "started_at": at(0), "summary": "电脑蓝屏"})
    no = first["ticket"]["ticket_no"]
    _, again = await api.call("POST", "/api/v1/calls", json={
        "caller": "13800771234", "started_at": at(600), "summary": "重启后还是蓝屏",
        "ticket_no": no})
    assert again["ticket"] == {**again["ticket"], "ticket_no": no, "outcome": "appended"}


async def test_a_repeated_log_with_the_same_key_logs_once(api: Api) -> None:
    payload = {"caller": "13800771234", "started_at": at(0), "summary": "VPN连不上"}
    headers = {"Idempotency-Key": "k-1"}
    _, one = await api.call("POST", "/api/v1/calls", json=payload, headers=headers)
    _, two = await api.call("POST", "/api/v1/calls", json=payload, headers=headers)
    assert one["call_id"] == two["call_id"]
    assert one["ticket"]["ticket_no"] == two["ticket"]["ticket_no"]


async def test_the_pbx_record_gives_the_ticket_its_times_either_order(api: Api) -> None:
    # the log comes first, the CDR import later
    _, logged = await api.call("POST", "/api/v1/calls", json={
        "caller": "0771-5551234", "started_at": at(5), "summary": "OA系统登录报错"})
    no = logged["ticket"]["ticket_no"]
    result = await asyncio.to_thread(import_calls_sync, api.desk, [
        PbxRecord("pbx-1", "07715551234", moment(0), "answered", answered_at=moment(18)),
    ], "Master.csv")
    assert (result.inserted, result.matched) == (1, 1)
    order = await ticket(api, no)
    assert (order.reported_at, order.accepted_at) == (moment(0), moment(18))
    assert order.respond_due == moment(3600)
    # the CDR is imported first, the agent logs afterwards
    await asyncio.to_thread(import_calls_sync, api.desk, [
        PbxRecord("pbx-2", "13900001111", moment(100), "answered", answered_at=moment(130)),
    ], "Master.csv")
    _, later = await api.call("POST", "/api/v1/calls", json={
        "caller": "139-0000-1111", "started_at": at(104), "summary": "WPS打不开文档"})
    assert later["matched_pbx_record"] is True
    order = await ticket(api, later["ticket"]["ticket_no"])
    assert (order.reported_at, order.accepted_at) == (moment(100), moment(130))
    # importing the same file again changes nothing
    again = await asyncio.to_thread(import_calls_sync, api.desk, [
        PbxRecord("pbx-2", "13900001111", moment(100), "answered", answered_at=moment(130)),
    ], "Master.csv")
    assert (again.inserted, again.duplicates, again.matched) == (0, 1, 0)


async def test_missed_calls_become_callbacks_closed_by_calling_back(api: Api) -> None:
    await asyncio.to_thread(import_calls_sync, api.desk, [
        PbxRecord("m-1", "13800001111", moment(0), "abandoned", ended_at=moment(40),
                  caller_name="李四"),
        PbxRecord("m-2", "13800002222", moment(60), "busy"),
        PbxRecord("a-1", "13800003333", moment(90), "answered", answered_at=moment(95)),
    ], "Master.csv")
    _, listed = await api.call("GET", "/api/v1/callbacks")
    assert [i["caller"] for i in listed["items"]] == ["13800001111", "13800002222"]
    status, body = await api.call("POST", "/api/v1/calls", json={
        "caller": "13800001111", "started_at": at(300), "direction": "out"})
    assert status == 201 and body["callbacks_closed"] == 1 and body["ticket"] is None
    _, listed = await api.call("GET", "/api/v1/callbacks")
    assert [i["caller"] for i in listed["items"]] == ["13800002222"]


async def test_hotline_figures_by_hand(api: Api) -> None:
    # waits 10, 25, 31, 60 s answered; one abandoned after 45 s
    records = [
        PbxRecord("h1", "13800000001", moment(0), "answered", answered_at=moment(10)),
        PbxRecord("h2", "13800000002", moment(100), "answered", answered_at=moment(125)),
        PbxRecord("h3", "13800000003", moment(200), "answered", answered_at=moment(231)),
        PbxRecord("h4", "13800000004", moment(300), "answered", answered_at=moment(360)),
        PbxRecord("h5", "13800000005", moment(400), "abandoned", ended_at=moment(445)),
    ]
    await asyncio.to_thread(import_calls_sync, api.desk, records, "Master.csv")
    status, body = await api.call("GET", "/api/v1/metrics/hotline?from=2026-11-27&to=2026-11-27")
    assert status == 200
    assert body["total"] == {
        "calls": 5, "answered": 4, "answered_within_30s": 2, "answered_within_30s_rate": 0.4,
        "abandoned": 1, "average_wait_seconds": 31.5, "p90_wait_seconds": 60.0,
    }
    assert list(body["by_day"]) == ["2026-11-27"] and list(body["by_hour"]) == ["08"]
    _, none = await api.call("GET", "/api/v1/metrics/hotline?from=2026-11-28&to=2026-11-28")
    assert none["total"]["calls"] == 0 and none["total"]["answered_within_30s_rate"] is None


async def test_vendors_cannot_log_calls(api: Api) -> None:
    status, _ = await api.call("POST", "/api/v1/calls", who="vendor_a",
                               json={"caller": "1", "started_at": at(0)})
    assert status == 403
    status, body = await api.call("POST", "/api/v1/calls", json={"caller": "13800001111"})
    assert status == 400 and "started_at" in body["error"]["message"]
