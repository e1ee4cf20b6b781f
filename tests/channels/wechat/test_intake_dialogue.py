"""Reports over the WeChat webhook, end to end: tickets, retries, follow-ups, the profile
question, menus and events. Each test runs in safe (AES) and plaintext mode, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.channels.wechat.conftest import WechatDesk
from ticketing.orm import Contact, ConversationMessage

ALICE = "oAlice_0000000000000000000001"
BOB = "oBob_00000000000000000000000002"


async def test_a_report_opens_a_ticket_and_the_reply_says_when(service: WechatDesk) -> None:
    reply = await service.wechat.text(ALICE, "财务室三台电脑都开不了机，全科室没法办公，很急")
    assert reply.status == 200
    tickets = await service.tickets()
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.channel == "online" and ticket.channel_detail == "wechat"
    assert reply.fields["ToUserName"] == ALICE and reply.fields["FromUserName"].startswith("gh_")
    assert reply.fields["MsgType"] == "text"
    assert f"工单号：{ticket.ticket_no}" in reply.content
    assert "问题等级：" in reply.content
    # the deadline in local time: reported 09:00 Beijing time, answer within the hour
    assert "2026-11-27 10:00 前给您答复" in reply.content
    assert "单位名称+姓名+联系电话" in reply.content  # an unknown user is asked once



async def test_a_retried_message_gets_the_same_answer_and_no_second_ticket(
    service: WechatDesk,
) -> None:
    fields = service.wechat.message(ALICE, Content="OA系统登录不了")
    first = await service.wechat.send(fields)
    again = await service.wechat.send(fields)  # WeChat retries: same MsgId, new nonce
    assert first.status == again.status == 200
    assert again.content == first.content
    assert len(await service.tickets()) == 1
    assert await service.stored_messages() == 1


async def test_follow_ups_join_the_open_ticket_and_新问题_starts_another(
    service: WechatDesk,
) -> None:
    wechat = service.wechat
    await wechat.text(ALICE, "打印机卡纸，打不出公文")
    service.clock.advance(hours=2)
    follow = await wechat.text(ALICE, "型号是奔图M6202")
    (ticket,) = await service.tickets()
    assert f"已将您的补充信息添加到工单 {ticket.ticket_no}" in follow.content
    service.clock.advance(hours=1)
    fresh = await wechat.text(ALICE, "新问题：WPS打开文档就闪退")
    tickets = await service.tickets()
    assert len(tickets) == 2 and tickets[1].description == "新问题：WPS打开文档就闪退"
    assert f"工单号：{tickets[1].ticket_no}" in fresh.content
    # two open tickets now: a plain message opens a third rather than guessing which
    await wechat.text(ALICE, "另外会议室投影仪没有信号")
    assert len(await service.tickets()) == 3
    # naming a ticket joins it
    named = await wechat.text(ALICE, f"{ticket.ticket_no} 换了硒鼓还是卡纸")
    assert f"添加到工单 {ticket.ticket_no}" in named.content
    async with service.desk.sessions() as session:
        bodies = list(
            await session.scalars(
                select(ConversationMessage.body)
                .where(ConversationMessage.work_order_id == ticket.id)
                .order_by(ConversationMessage.id)
            )
        )
    assert bodies == [
        "打印机卡纸，打不出公文", "型号是奔图M6202", f"{ticket.ticket_no} 换了硒鼓还是卡纸"
    ]


async def test_a_bare_新问题_makes_the_next_message_a_new_ticket(service: WechatDesk) -> None:
    wechat = service.wechat
    await wechat.text(ALICE, "电脑蓝屏")
    prompt = await wechat.text(ALICE, "新问题")
    assert "请直接描述新的问题" in prompt.content
    assert len(await service.tickets()) == 1
    await wechat.text(ALICE, "扫描仪驱动装不上")
    tickets = await service.tickets()
    assert [t.description for t in tickets] == ["电脑蓝屏", "扫描仪驱动装不上"]
    # the flag is spent; with two tickets open a plain message opens a third
    await wechat.text(ALICE, "扫描仪型号是 FUJITSU fi-7160")
    assert len(await service.tickets()) == 3


async def test_after_24_hours_a_message_opens_a_new_ticket(service: WechatDesk) -> None:
    await service.wechat.text(ALICE, "内网打不开")
    service.clock.advance(hours=25)
    await service.wechat.text(ALICE, "邮箱收不到信")
    assert len(await service.tickets()) == 2


async def test_the_profile_answer_fills_the_contact_and_open_tickets(
    service: WechatDesk,
) -> None:
    wechat = service.wechat
    first = await wechat.text(ALICE, "单位的打印机坏了")
    assert "单位名称+姓名+联系电话" in first.content
    answer = await wechat.text(ALICE, "南宁市青秀区财政局＋张三＋138-0077-1234")
    (ticket,) = await service.tickets()
    assert f"已登记您的联系信息，并更新到工单 {ticket.ticket_no}" in answer.content
    assert (ticket.org_name, ticket.contact_name, ticket.contact_phone) == (
        "南宁市青秀区财政局", "张三", "138-0077-1234",
    )
    async with service.desk.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.wechat_openid == ALICE))
    assert contact is not None and contact.name == "张三" and contact.phone == "13800771234"
    assert contact.organisation is not None
    assert contact.organisation.name == "南宁市青秀区财政局"
    # known now: a later report asks nothing and carries the unit
    service.clock.advance(hours=30)
    later = await wechat.text(ALICE, "新问题：麒麟系统升级后网卡不见了")
    assert "单位名称+姓名+联系电话" not in later.content
    assert (await service.tickets())[-1].org_name == "南宁市青秀区财政局"


async def test_the_profile_question_is_asked_only_once(service: WechatDesk) -> None:
    await service.wechat.text(BOB, "电脑很慢")
    service.clock.advance(hours=30)
    second = await service.wechat.text(BOB, "打印机又坏了")  # never answered the question
    assert "单位名称+姓名+联系电话" not in second.content
    assert "工单号" in second.content


async def test_voice_uses_the_recognised_text(service: WechatDesk) -> None:
    reply = await service.wechat.send(
        service.wechat.message(
            ALICE, "voice", MediaId="voice-media-1", Format="amr",
            Recognition="我们科室的打印机卡纸了麻烦派人来看一下",
        )
    )
    (ticket,) = await service.tickets()
    assert ticket.description == "我们科室的打印机卡纸了麻烦派人来看一下"
    assert ticket.product_category == "peripheral"
    assert "工单号" in reply.content


async def test_a_location_becomes_the_site(service: WechatDesk) -> None:
    await service.wechat.text(ALICE, "服务器机房空调漏水，服务器告警")
    (ticket,) = await service.tickets()
    assert ticket.site_district is None
    await service.wechat.send(
        service.wechat.message(
            ALICE, "location", Location_X="22.81", Location_Y="108.37", Scale="15",
            Label="广西壮族自治区南宁市青秀区民族大道100号",
        )
    )
    (ticket,) = await service.tickets()
    assert ticket.site_district == "青秀区" and ticket.same_city is True
    assert ticket.arrive_due == ticket.reported_at + timedelta(hours=4)


async def test_a_link_is_a_report(service: WechatDesk) -> None:
    await service.wechat.send(
        service.wechat.message(
            ALICE, "link", Title="系统报错截图", Description="登录统一门户报500错误",
            Url="https://example.gov.cn/a",
        )
    )
    (ticket,) = await service.tickets()
    assert "登录统一门户报500错误" in ticket.description


async def test_subscribe_welcomes_and_explains(service: WechatDesk) -> None:
    reply = await service.wechat.event(ALICE, "subscribe")
    assert "欢迎关注" in reply.content and "工单号" in reply.content and "我的工单" in reply.content
    assert await service.tickets() == []


async def test_my_tickets_lists_open_tickets_with_status_and_deadline(
    service: WechatDesk,
) -> None:
    await service.wechat.text(ALICE, "打印机卡纸了 ]]> 怎么办")
    service.clock.advance(minutes=5)
    reply = await service.wechat.event(ALICE, "CLICK", EventKey="MY_TICKETS")
    (ticket,) = await service.tickets()
    assert "您有 1 个未关闭的工单" in reply.content
    assert ticket.ticket_no in reply.content and "已接收" in reply.content
    assert "答复时限：2026-11-27 10:00" in reply.content
    assert "]]>" in reply.content  # the user's text echoed back intact, the XML still valid
    empty = await service.wechat.event(BOB, "CLICK", EventKey="MY_TICKETS")
    assert "没有未关闭的工单" in empty.content


async def test_unsubscribe_answers_success_and_stops_notices(service: WechatDesk) -> None:
    await service.wechat.text(ALICE, "电脑开不了机")
    reply = await service.wechat.event(ALICE, "unsubscribe")
    assert reply.status == 200 and reply.text == "success"
    async with service.desk.sessions() as session:
        contact = await session.scalar(select(Contact).where(Contact.wechat_openid == ALICE))
    assert contact is not None and contact.unsubscribed_at is not None


async def test_an_unsupported_message_gets_guidance(service: WechatDesk) -> None:
    reply = await service.wechat.send(service.wechat.message(ALICE, "music"))
    assert "暂不支持这种消息" in reply.content
    assert await service.tickets() == []
