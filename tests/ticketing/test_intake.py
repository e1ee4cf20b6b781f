"""intake.receive on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ticketing import intake
from ticketing.desk import Desk
from ticketing.fields import InvalidField
from ticketing.intake import UnknownVendor
from ticketing.model import Inbound, Sender
from ticketing.orm import (
    ConversationMessage,
    Event,
    InboundMessage,
    OutboxMessage,
    WorkOrder,
)
from ticketing.workflow import Actor, transition

REPORTED = datetime(2026, 11, 27, 0, 58, tzinfo=UTC)  # 08:58 in Nanning
AGENT = Actor(name="agent:test", role="agent")


def wechat(text_: str, msg_id: str = "1001", openid: str = "oUser1", **kw: Any) -> Inbound:
    return Inbound(
        channel_detail="wechat",
        external_id=msg_id,
        received_at=kw.pop("received_at", REPORTED),
        text=text_,
        sender=Sender(wechat_openid=openid, **kw),
    )


async def count(desk: Desk, model: type) -> int:
    async with desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def order(desk: Desk, ticket_no: str) -> WorkOrder:
    async with desk.sessions() as session:
        found = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
        assert found is not None
        return found


async def test_new_report_opens_a_standard_work_order(desk: Desk) -> None:
    result = await intake.receive(
        desk, wechat("单位的奔图打印机卡纸了，打不出文件", org_name="测试单位", name="李明")
    )
    assert result.outcome == "created"
    assert result.ticket_no == "XC-20261127-0001"
    wo = await order(desk, result.ticket_no)
    assert wo.status == "received"
    assert wo.channel == "online" and wo.channel_detail == "wechat"
    assert wo.reported_at == REPORTED
    assert wo.created_at == desk.clock()
    assert wo.accepted_at is None
    assert wo.org_name == "测试单位" and wo.contact_name == "李明"
    assert wo.product_category == "peripheral"
    assert wo.description == "单位的奔图打印机卡纸了，打不出文件"
    assert wo.triage["source"] == "model"
    assert await count(desk, InboundMessage) == 1
    assert await count(desk, ConversationMessage) == 2  # the report and our acknowledgement
    async with desk.sessions() as session:
        events = (await session.scalars(select(Event))).all()
    assert [(e.action, e.field, e.new) for e in events] == [("created", "status", "received")]


async def test_acknowledgement_is_queued_in_chinese_on_the_users_channel(desk: Desk) -> None:
    result = await intake.receive(desk, wechat("电脑蓝屏了", openid="oAck"))
    async with desk.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert len(rows) == 1
    ack = rows[0]
    assert (ack.channel, ack.recipient, ack.kind) == ("wechat", "oAck", "ack")
    assert ack.status == "pending"
    assert result.ticket_no in ack.body
    assert "已登记" in ack.body and "前给您明确答复" in ack.body


async def test_redelivered_message_is_recognised_and_writes_nothing(desk: Desk) -> None:
    first = await intake.receive(desk, wechat("OA系统打不开了", msg_id="77"))
    desk.clock.advance(seconds=5)  # type: ignore[attr-defined]
    again = await intake.receive(desk, wechat("OA系统打不开了", msg_id="77"))
    assert again.outcome == "duplicate"
    assert again.first_outcome == "created"
    assert again.ticket_no == first.ticket_no
    assert again.respond_due == first.respond_due
    for model, expected in ((WorkOrder, 1), (InboundMessage, 1), (OutboxMessage, 1), (Event, 1)):
        assert await count(desk, model) == expected, model


async def test_same_external_id_on_another_channel_is_another_message(desk: Desk) -> None:
    await intake.receive(desk, wechat("打印机卡纸", msg_id="5"))
    other = Inbound(
        channel_detail="email",
        external_id="5",
        received_at=REPORTED,
        text="打印机卡纸",
        sender=Sender(email="a@example.test"),
    )
    assert (await intake.receive(desk, other)).outcome == "created"
    assert await count(desk, WorkOrder) == 2


async def test_follow_up_naming_the_ticket_attaches_to_it(desk: Desk) -> None:
    first = await intake.receive(desk, wechat("扫描仪不识别", msg_id="1"))
    follow = await intake.receive(
        desk, wechat(f"补充：{first.ticket_no.lower()} 换了USB口也不行", msg_id="2")
    )
    assert follow.outcome == "appended"
    assert follow.ticket_no == first.ticket_no
    assert await count(desk, WorkOrder) == 1
    async with desk.sessions() as session:
        bodies = (
            await session.scalars(
                select(ConversationMessage.body)
                .where(ConversationMessage.direction == "in")
                .order_by(ConversationMessage.id)
            )
        ).all()
        actions = (await session.scalars(select(Event.action).order_by(Event.id))).all()
    assert bodies[-1].endswith("换了USB口也不行")
    assert actions == ["created", "message_added"]


async def test_a_stranger_naming_a_ticket_opens_a_ticket_of_their_own(desk: Desk) -> None:
    first = await intake.receive(desk, wechat("扫描仪不识别", msg_id="1", openid="oOwner"))
    other = await intake.receive(
        desk, wechat(f"{first.ticket_no} 我也是", msg_id="2", openid="oStranger")
    )
    assert other.outcome == "created"
    assert other.ticket_no != first.ticket_no


async def test_a_colleague_of_the_same_unit_may_add_to_a_ticket(desk: Desk) -> None:
    first = await intake.receive(
        desk, wechat("扫描仪不识别", msg_id="1", openid="oA", org_name="某某局")
    )
    other = await intake.receive(
        desk, wechat(f"{first.ticket_no} 同事补充", msg_id="2", openid="oB", org_name="某某局")
    )
    assert other.outcome == "appended"


async def test_a_closed_ticket_is_not_reopened_by_a_new_message(desk: Desk) -> None:
    first = await intake.receive(desk, wechat("扫描仪不识别", msg_id="1"))
    for step, extra in (
        ("accepted", {}),
        ("responded", {}),
        ("resolved", {"solution": "重装驱动"}),
        ("closed", {}),
    ):
        await transition(desk, first.ticket_no, step, AGENT, extra)
    again = await intake.receive(desk, wechat(f"{first.ticket_no} 又不行了", msg_id="2"))
    assert again.outcome == "created"
    assert again.ticket_no.endswith("0002")


@pytest.mark.parametrize(
    "place,same_city,arrive,resolve",
    [
        ("青秀区", True, 4, 24),  # Nanning municipal district: 同城
        ("横州市", False, 12, 48),  # county-level city: 异地
        ("融水苗族自治县", False, 12, 48),
    ],
)
async def test_sla_deadlines_follow_the_site(
    desk: Desk, place: str, same_city: bool, arrive: int, resolve: int
) -> None:
    result = await intake.receive(
        desk,
        Inbound(
            channel_detail="api",
            external_id="k1",
            received_at=REPORTED,
            text="电脑无法开机",
            site_district=place,
        ),
    )
    wo = await order(desk, result.ticket_no)
    assert wo.site_district == place
    assert wo.same_city is same_city
    assert wo.respond_due == REPORTED + timedelta(hours=1)
    assert wo.arrive_due == REPORTED + timedelta(hours=arrive)
    assert wo.resolve_due == REPORTED + timedelta(hours=resolve)


async def test_site_named_in_the_text_decides_same_city(desk: Desk) -> None:
    result = await intake.receive(desk, wechat("我们在横州市财政局，电脑无法开机"))
    wo = await order(desk, result.ticket_no)
    assert (wo.site_district, wo.same_city) == ("横州市", False)
    assert wo.arrive_due == REPORTED + timedelta(hours=12)


async def test_unknown_site_gets_the_stricter_deadlines(desk: Desk) -> None:
    result = await intake.receive(desk, wechat("电脑无法开机"))
    wo = await order(desk, result.ticket_no)
    assert wo.same_city is None
    assert wo.arrive_due == REPORTED + timedelta(hours=4)
    assert wo.resolve_due == REPORTED + timedelta(hours=24)


async def test_numbers_restart_each_local_day(desk: Desk) -> None:
    clock = desk.clock
    clock.now = datetime(2026, 11, 27, 15, 59, tzinfo=UTC)  # type: ignore[attr-defined]  # 23:59 local
    a = await intake.receive(desk, wechat("问题一", msg_id="a"))
    b = await intake.receive(desk, wechat("问题二", msg_id="b", openid="o2"))
    clock.now = datetime(2026, 11, 27, 16, 1, tzinfo=UTC)  # type: ignore[attr-defined]  # 00:01 next day
    c = await intake.receive(desk, wechat("问题三", msg_id="c", openid="o3"))
    assert [a.ticket_no, b.ticket_no, c.ticket_no] == [
        "XC-20261127-0001",
        "XC-20261127-0002",
        "XC-20261128-0001",
    ]


async def test_failure_inside_intake_stores_nothing(desk: Desk) -> None:
    bad = Inbound(
        channel_detail="api",
        external_id="x",
        received_at=REPORTED,
        text="电脑无法开机",
        fields={"primary_vendor": "没有这家企业"},
    )
    with pytest.raises(UnknownVendor):
        await intake.receive(desk, bad)
    for model in (WorkOrder, InboundMessage, Event, OutboxMessage):
        assert await count(desk, model) == 0
    # the number was not used up either: the next ticket is still 0001
    ok = await intake.receive(desk, wechat("电脑无法开机"))
    assert ok.ticket_no.endswith("-0001")


async def test_one_bad_message_in_a_batch_fails_alone(desk: Desk) -> None:
    batch = [
        wechat("打印机卡纸", msg_id="1"),
        Inbound(
            channel_detail="api",
            external_id="bad",
            received_at=REPORTED,
            text="x",
            fields={"level": "P9"},
        ),
        wechat("打印机卡纸", msg_id="1"),  # a redelivery inside the same batch
        wechat("电脑蓝屏", msg_id="3", openid="o3"),
    ]
    results = await intake.receive_many(desk, batch)
    assert results[0].outcome == "created"  # type: ignore[union-attr]
    assert isinstance(results[1], InvalidField)
    assert results[2].outcome == "duplicate"  # type: ignore[union-attr]
    assert results[3].outcome == "created"  # type: ignore[union-attr]
    assert await count(desk, WorkOrder) == 2
    assert await count(desk, InboundMessage) == 2


async def test_person_supplied_fields_win_over_triage(desk: Desk) -> None:
    result = await intake.receive(
        desk,
        Inbound(
            channel_detail="api",
            external_id="p",
            received_at=REPORTED,
            text="打印机卡纸",
            fields={"level": "P1", "product_category": "server", "org_name": "某局"},
        ),
    )
    wo = await order(desk, result.ticket_no)
    assert (wo.level, wo.product_category, wo.org_name) == ("P1", "server", "某局")
    assert wo.triage["set_by_person"] == ["level", "product_category"]
    assert wo.needs_review is False


async def test_events_are_append_only(desk: Desk) -> None:
    await intake.receive(desk, wechat("打印机卡纸"))
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        async with desk.sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
    assert await count(desk, Event) == 1


async def test_naive_timestamps_are_refused(desk: Desk) -> None:
    with pytest.raises(InvalidField):
        await intake.receive(desk, wechat("x", received_at=datetime(2026, 11, 27, 9, 0)))
