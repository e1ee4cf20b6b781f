"""The survey by WeChat: sent when the ticket closes, answered by a digit and a comment."""

from __future__ import annotations

from sqlalchemy import select

from tests.channels.wechat.conftest import WechatDesk
from ticketing.desk import Desk
from ticketing.orm import WorkOrder
from ticketing.workflow import Actor, transition

AGENT = Actor(name="agent:王", role="agent")
ALICE = "oAlice_0000000000000000000001"


async def close(desk: Desk, ticket_no: str) -> None:
    for target, extra in (("accepted", {}), ("responded", {"handling_mode": "online"}),
                          ("resolved", {"solution": "重装打印驱动"}), ("closed", {})):
        await transition(desk, ticket_no, target, AGENT, extra)


async def order(desk: Desk, ticket_no: str) -> WorkOrder:
    async with desk.sessions() as session:
        found = await session.scalar(select(WorkOrder).where(WorkOrder.ticket_no == ticket_no))
    assert found is not None
    return found


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
