"""A ticket's whole life over WeChat, as the user sees it: one message per step, from the
per-step templates, each naming the ticket, delivered through the outbox to the WeChat API
emulator; then the complaint ledger's life, driven by the user's own messages."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from tests.channels.wechat.conftest import WechatDesk
from tests.conftest import Clock
from tests.lifecycle import AGENT, order
from ticketing import complaints
from ticketing.orm import Complaint, OutboxMessage, Vendor, WorkOrder
from ticketing.sla_watch import SlaWatcher
from ticketing.transfers import answer_transfer, request_transfer
from ticketing.workflow import Actor, transition

ALICE = "oAlice_0000000000000000000001"
SUPERVISOR = Actor(name="supervisor:周", role="supervisor")


class Phone:
    """The user's WeChat: what reached it since the last look."""

    def __init__(self, svc: WechatDesk) -> None:
        self._svc = svc
        self._seen: set[int] = set()

    async def delivered(self) -> list[str]:
        """Dispatch what is due; the texts it delivered. Each reached the emulator once, as a
        customer-service message or, once WeChat's allowance of replies to one user message
        is used up, as a template message."""
        svc = self._svc
        before = len(svc.emulator.sent)
        await svc.dispatcher.dispatch_once()
        async with svc.desk.sessions() as session:
            rows = list(await session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == "wechat",
                                            OutboxMessage.status == "sent")
                .order_by(OutboxMessage.id)))
        new = [r for r in rows if r.id not in self._seen]
        self._seen.update(r.id for r in new)
        assert len(svc.emulator.sent) - before == len(new)
        return [r.body for r in new]


async def give_to(svc: WechatDesk, ticket_no: str, *names: str) -> None:
    async with svc.desk.sessions() as session, session.begin():
        for name in names:
            await session.execute(insert(Vendor).values(name=name, created_at=svc.desk.clock()))
        first = await session.scalar(select(Vendor.id).where(Vendor.name == names[0]))
        await session.execute(update(WorkOrder).where(WorkOrder.ticket_no == ticket_no)
                              .values(primary_vendor_id=first, responsibility_basis="signed_by"))


async def test_every_step_tells_the_user_what_they_need(
    safe_service: WechatDesk, clock: Clock
) -> None:
    svc = safe_service
    phone = Phone(svc)
    await svc.wechat.text(ALICE, "南宁市青秀区办公室的打印机卡纸，需要上门")
    svc.emulator.user_message(ALICE)
    (ticket,) = await svc.tickets()
    no = ticket.ticket_no
    await give_to(svc, no, "甲信息技术有限公司", "乙系统集成有限公司")

    await transition(svc.desk, no, "accepted", AGENT)
    (text,) = await phone.delivered()
    due = (await order(svc.desk, no)).respond_due.astimezone(svc.desk.zone)
    assert text == (f"您的工单 {no} 已受理，由甲信息技术有限公司负责处理，"
                    f"将在 {due:%Y-%m-%d %H:%M} 前与您联系并给出处理安排。")

    vendor = Actor(name="vendor:甲", role="agent")
    await request_transfer(svc.desk, no, vendor, "乙系统集成有限公司", "该设备由乙公司集成")
    await answer_transfer(svc.desk, no, SUPERVISOR, accept=True)
    (text,) = await phone.delivered()
    assert text == f"您的工单 {no} 现由乙系统集成有限公司负责处理，我们会继续跟进，请您放心。"

    arrival = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)  # 14:30 in Nanning
    await transition(svc.desk, no, "responded", AGENT, {
        "handling_mode": "onsite", "engineer": "李工 13900000001",
        "plan": "上门更换搓纸轮", "expected_arrival": arrival.isoformat()})
    (text,) = await phone.delivered()
    assert text == (f"您的工单 {no} 已有技术人员响应（李工 13900000001），处理方式：线下。\n"
                    "处理方案：上门更换搓纸轮\n预计 2026-11-27 14:30 到达现场。")

    # the engineer is late: the arrival deadline passes, the user gets an apology and the plan
    clock.now = (await order(svc.desk, no)).arrive_due
    SlaWatcher(svc.desk).run_once()
    (text,) = await phone.delivered()
    assert text.startswith(f"非常抱歉，您的工单 {no} 未能在承诺时限内到场。")
    assert "已督促乙系统集成有限公司尽快安排人员到达现场。" in text

    await transition(svc.desk, no, "onsite", AGENT, {"engineer": "李工"})
    (text,) = await phone.delivered()
    assert text == f"您的工单 {no}：技术人员李工已到达现场处理。"

    await transition(svc.desk, no, "resolved", AGENT, {"solution": "更换了磨损的搓纸轮"})
    (text,) = await phone.delivered()
    assert text.startswith(f"您的工单 {no} 已处理完成。处理结果：更换了磨损的搓纸轮")
    assert "请回复“已解决”确认" in text and "“未解决”" in text

    reply = await svc.wechat.text(ALICE, "未解决")
    assert f"已重新打开工单 {no}" in reply.content
    (text,) = await phone.delivered()
    assert text == f"您的工单 {no} 已重新打开，我们会继续跟进处理。"

    await transition(svc.desk, no, "resolved", AGENT, {"solution": "更换定影组件"})
    await phone.delivered()
    reply = await svc.wechat.text(ALICE, "已解决")
    assert f"工单 {no} 已办结" in reply.content
    closed, survey = await phone.delivered()
    assert closed == f"您的工单 {no} 已关闭，感谢您的反馈。"
    assert survey.startswith(f"您的工单 {no} 已办结。请为本次服务打分")
    assert "1 非常满意　2 满意　3 一般　4 不满意　5 非常不满意" in survey

    reply = await svc.wechat.text(ALICE, "1")
    assert f"感谢您对工单 {no} 的评价" in reply.content
    done = await order(svc.desk, no)
    assert (done.status, done.rated, done.satisfaction) == ("closed", True, "very_satisfied")
    async with svc.desk.sessions() as session:
        bodies = list(await session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.channel == "wechat")))
    assert bodies and all(no in body for body in bodies)  # every message names the ticket


async def test_a_complaint_lives_through_the_ledger(safe_service: WechatDesk) -> None:
    svc = safe_service
    phone = Phone(svc)
    await svc.wechat.text(ALICE, "电脑蓝屏，无法开机")
    svc.emulator.user_message(ALICE)
    (ticket,) = await svc.tickets()
    no = ticket.ticket_no
    await phone.delivered()

    reply = await svc.wechat.text(ALICE, "我要投诉，工程师约好了上午来，到现在也没人")
    assert reply.status == 200
    async with svc.desk.sessions() as session:
        (row,) = list(await session.scalars(select(Complaint)))
    assert (row.status, row.source, row.owner) == ("received", "message", "投诉专员")
    number = complaints.complaint_no(row.id)
    (text,) = await phone.delivered()
    assert text.startswith(f"您对工单 {no} 的投诉已受理（投诉编号 {number}）")
    assert (await order(svc.desk, no)).complaint is True

    # a second angry message is the same complaint
    await svc.wechat.text(ALICE, "再次投诉！")
    async with svc.desk.sessions() as session:
        assert len(list(await session.scalars(select(Complaint)))) == 1

    def move(target: str, **extra: str) -> None:
        with svc.desk.writer.begin() as conn:
            complaints.move(svc.desk, conn, row.id, target, "agent:投诉专员", svc.desk.clock(),
                            **extra)

    move("investigating", owner="王主管")
    assert await phone.delivered() == []  # investigating is internal
    move("remedied", remedy="已更换工程师，并于今天下午上门致歉和修复")
    (text,) = await phone.delivered()
    assert text.startswith(f"您对工单 {no} 的投诉（{number}）已处理：已更换工程师")
    assert "请回复“认可”" in text

    reply = await svc.wechat.text(ALICE, "不认可，还是没人来")
    assert f"重新调查处理您对工单 {no} 的投诉" in reply.content
    move("remedied", remedy="工程师已到场修复完毕")
    await phone.delivered()
    reply = await svc.wechat.text(ALICE, "认可")
    assert f"您对工单 {no} 的投诉已办结" in reply.content

    async with svc.desk.sessions() as session:
        final = await session.get(Complaint, row.id)
    assert final is not None
    assert (final.status, final.owner, final.user_response) == ("confirmed", "王主管", "认可")
    assert final.remedy == "已更换工程师，并于今天下午上门致歉和修复\n工程师已到场修复完毕"
    assert final.investigating_at is not None and final.confirmed_at is not None
    assert len(await svc.tickets()) == 1  # no message of the complaint opened a ticket
