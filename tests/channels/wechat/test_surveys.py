"""The survey by WeChat: sent when the ticket closes, answered by a digit and a comment."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.channels.wechat.conftest import WechatDesk
from tests.conftest import Clock
from tests.lifecycle import AGENT, close, order
from ticketing.desk import Desk
from ticketing.orm import OutboxMessage, Survey
from ticketing.workflow import transition

ALICE = "oAlice_0000000000000000000001"


async def test_wechat_survey_answered_by_digit_then_comment(safe_service: WechatDesk) -> None:
    svc = safe_service
    await svc.wechat.text(ALICE, "打印机卡纸")
    svc.emulator.user_message(ALICE)
    (ticket,) = await svc.tickets()
    await close(svc.desk, ticket.ticket_no)
    await svc.dispatcher.dispatch_once()
    texts = [m["body"]["text"]["content"] for m in svc.emulator.sent if m["kind"] == "custom"]
    (survey,) = [t for t in texts if "满意度" in t or "打分" in t]
    assert "1 非常满意" in survey and "5 非常不满意" in survey and ticket.ticket_no in survey
    reply = await svc.wechat.text(ALICE, "２")
    assert f"感谢您对工单 {ticket.ticket_no} 的评价" in reply.content
    comment = await svc.wechat.text(ALICE, "工程师很耐心，就是来得有点晚")
    assert "已收到您的意见" in comment.content
    done = await order(svc.desk, ticket.ticket_no)
    assert (done.rated, done.satisfaction) == (True, "satisfied")
    assert done.follow_up_feedback == "工程师很耐心，就是来得有点晚"
    assert len(await svc.tickets()) == 1  # neither reply opened a ticket


async def resolve(desk: Desk, ticket_no: str, first: bool = True) -> None:
    steps = [("accepted", {}), ("responded", {"handling_mode": "online"})] if first else [
        ("responded", {"handling_mode": "online"})]
    for target, extra in [*steps, ("resolved", {"solution": "清理搓纸轮"})]:
        await transition(desk, ticket_no, target, AGENT, extra)


async def test_the_user_reopens_then_confirms(safe_service: WechatDesk) -> None:
    svc = safe_service
    await svc.wechat.text(ALICE, "打印机卡纸")
    (ticket,) = await svc.tickets()
    await resolve(svc.desk, ticket.ticket_no)
    reply = await svc.wechat.text(ALICE, "未解决，还是卡纸")
    assert f"已重新打开工单 {ticket.ticket_no}" in reply.content
    assert (await order(svc.desk, ticket.ticket_no)).status == "reopened"
    await resolve(svc.desk, ticket.ticket_no, first=False)
    reply = await svc.wechat.text(ALICE, "已解决")
    assert f"工单 {ticket.ticket_no} 已办结" in reply.content
    closed = await order(svc.desk, ticket.ticket_no)
    assert closed.status == "closed"
    async with svc.desk.sessions() as session:
        assert await session.scalar(select(Survey).where(Survey.work_order_id == closed.id))
    assert len(await svc.tickets()) == 1


async def test_no_answer_for_three_days_closes(safe_service: WechatDesk, clock: Clock) -> None:
    from ticketing.confirmations import auto_close

    svc = safe_service
    await svc.wechat.text(ALICE, "扫描仪驱动装不上")
    (ticket,) = await svc.tickets()
    await resolve(svc.desk, ticket.ticket_no)
    clock.advance(days=2, hours=23)
    assert await auto_close(svc.desk) == 0
    clock.advance(hours=2)
    assert await auto_close(svc.desk) == 1
    assert (await order(svc.desk, ticket.ticket_no)).status == "closed"


async def test_one_survey_reminder_after_a_day(safe_service: WechatDesk, clock: Clock) -> None:
    from ticketing.sla_watch import SlaWatcher

    svc = safe_service
    await svc.wechat.text(ALICE, "电脑蓝屏")
    (ticket,) = await svc.tickets()
    await close(svc.desk, ticket.ticket_no)
    watcher = SlaWatcher(svc.desk)
    clock.advance(hours=23)
    await asyncio.to_thread(watcher.run_once)
    clock.advance(hours=2)
    await asyncio.to_thread(watcher.run_once)
    await asyncio.to_thread(watcher.run_once)
    async with svc.desk.sessions() as session:
        kinds = list(await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "survey")))
    no = ticket.ticket_no
    assert sorted(kinds) == [f"survey:{no}:1", f"survey_reminder:{no}:1"]


async def test_a_missed_deadline_brings_the_user_an_apology(
    safe_service: WechatDesk, clock: Clock
) -> None:
    from ticketing.sla_watch import SlaWatcher

    svc = safe_service
    await svc.wechat.text(ALICE, "OA系统登录不了")
    (ticket,) = await svc.tickets()
    clock.advance(hours=1, minutes=1)
    await asyncio.to_thread(SlaWatcher(svc.desk).run_once)
    async with svc.desk.sessions() as session:
        apology = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"apology:{ticket.ticket_no}:respond:100"))
    assert apology is not None and apology.recipient == ALICE
    assert "非常抱歉" in apology.body and "响应" in apology.body
