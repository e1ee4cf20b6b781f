"""Section 二 over the API: transfer accepted, transfer refused, no answer for 24 hours up the
whole liaison chain to arbitration, and the first-inquiry pick."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.conftest import Clock
from tests.server.conftest import Api
from ticketing.orm import Event, Transfer
from ticketing.sla_watch import SlaWatcher


async def new_ticket(api: Api, primary: str | None = "甲公司") -> str:
    body = {"description": "电脑开不了机", "product_category": "terminal"}
    if primary:
        body["primary_vendor"] = primary
    status, ticket = await api.call("POST", "/api/v1/tickets", json=body)
    assert status == 201, ticket
    return ticket["ticket_no"]


async def events(api: Api, action: str) -> list[dict]:
    async with api.desk.sessions() as session:
        return list(await session.scalars(
            select(Event.data).where(Event.action == action).order_by(Event.id)))


async def test_transfer_accepted(api: Api) -> None:
    no = await new_ticket(api)
    status, _ = await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_a",
                               json={"to_vendor": "乙公司", "reason": "故障在乙公司的操作系统"})
    assert status == 202
    status, ticket = await api.call("POST", f"/api/v1/tickets/{no}/transfer/accept",
                                    who="vendor_b", json={})
    assert status == 200, ticket
    assert ticket["primary_vendor"] == "乙公司" and ticket["secondary_vendors"] == ["甲公司"]
    assert [e["basis"] for e in await events(api, "responsibility_moved")] == ["signed_by"]


async def test_only_the_primary_may_ask_and_only_the_target_may_answer(api: Api) -> None:
    no = await new_ticket(api)
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_b",
                                  json={"to_vendor": "甲公司", "reason": "x"})
    assert status in (404, 409)  # 乙 is not on the ticket at all
    await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_a",
                   json={"to_vendor": "乙公司", "reason": "不是我们的产品"})
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/transfer/accept",
                                  who="vendor_a", json={})
    assert status == 409 and "被转移方" in body["error"]["message"]
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_a",
                                  json={"to_vendor": "乙公司", "reason": "再来一次"})
    assert status == 409 and "未完成" in body["error"]["message"]


async def test_transfer_refused_goes_to_the_local_liaison(api: Api) -> None:
    no = await new_ticket(api)
    await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_a",
                   json={"to_vendor": "乙公司", "reason": "驱动问题"})
    status, _ = await api.call("POST", f"/api/v1/tickets/{no}/transfer/refuse", who="vendor_b",
                               json={"reason": "不是我们销售的"})
    assert status == 200
    (step,) = await events(api, "transfer_escalated")
    assert step["level"] == 1 and "本地" in step["to"]
    status, ticket = await api.call("GET", f"/api/v1/tickets/{no}")
    assert ticket["primary_vendor"] == "甲公司"  # unchanged until someone decides


async def test_no_answer_climbs_the_chain_to_arbitration(api: Api, clock: Clock) -> None:
    no = await new_ticket(api)
    await api.call("POST", f"/api/v1/tickets/{no}/transfer", who="vendor_a",
                   json={"to_vendor": "乙公司", "reason": "网络设备是乙公司的"})
    watcher = SlaWatcher(api.desk)
    for _ in range(5):  # 24 h, 48 h, 72 h, 96 h, 120 h
        clock.advance(hours=24, minutes=1)
        await asyncio.to_thread(watcher.run_once)
    steps = await events(api, "transfer_escalated")
    assert [s["level"] for s in steps] == [1, 2, 3]
    assert "设区市" in steps[1]["to"] and "技术仲裁" in steps[2]["to"]
    async with api.desk.sessions() as session:
        transfer = await session.scalar(select(Transfer))
    assert transfer is not None and transfer.level == 3 and transfer.due_at is None
    status, ticket = await api.call("POST", f"/api/v1/tickets/{no}/responsibility",
                                    who="supervisor", json={"vendor": "乙公司", "note": "仲裁"})
    assert status == 200
    assert ticket["primary_vendor"] == "乙公司" and ticket["responsibility_basis"] == "arbitration"
    async with api.desk.sessions() as session:
        transfer = await session.scalar(select(Transfer))
    assert transfer is not None and transfer.status == "decided"


async def test_first_inquiry_pick(api: Api) -> None:
    no = await new_ticket(api, primary=None)
    status, ticket = await api.call("POST", f"/api/v1/tickets/{no}/responsibility",
                                    json={"vendor": "甲公司"})
    assert status == 200 and ticket["primary_vendor"] == "甲公司"
    assert ticket["responsibility_basis"] == "first_inquiry"
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/responsibility",
                                  json={"vendor": "乙公司"})
    assert status == 409  # an agent cannot overrule a primary; that is the liaisons' job
