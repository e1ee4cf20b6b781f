"""Outbound WeChat end to end: a step on a ticket becomes a notice in the outbox, which the
dispatcher delivers to the WeChat API emulator over real HTTP: customer-service message in the
48-hour window, template message outside it, retries while WeChat is away, nothing lost and
nothing sent twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import requests
from sqlalchemy import select

from channels.wechat.sender import WechatApi
from tests.channels.wechat.api_emulator import ApiError
from tests.channels.wechat.conftest import APPID, SECRET, TEMPLATE, WechatDesk
from ticketing.access import create_token
from ticketing.channel_state import ChannelStateStore
from ticketing.orm import Attachment, Event, OutboxMessage
from ticketing.workflow import Actor, transition

ALICE = "oAlice_0000000000000000000001"
AGENT = Actor(name="agent:王", role="agent")
ONLINE = "线上"


async def report(svc: WechatDesk, text: str, openid: str = ALICE) -> str:
    reply = await svc.wechat.text(openid, text)
    assert reply.status == 200
    svc.emulator.user_message(openid)  # WeChat saw the user write: their window is open
    return (await svc.tickets())[-1].ticket_no


async def outbox(svc: WechatDesk, kind: str | None = None) -> list[OutboxMessage]:
    async with svc.desk.sessions() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            stmt = stmt.where(OutboxMessage.kind == kind)
        return list(await session.scalars(stmt))


async def test_a_step_on_the_ticket_reaches_the_user_once(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "打印机卡纸")
    assert await outbox(svc) == []  # the acknowledgement was the passive reply
    await transition(svc.desk, no, "accepted", AGENT)
    assert await svc.dispatcher.dispatch_once() == 1
    (sent,) = svc.emulator.sent
    assert sent["kind"] == "custom"
    assert sent["body"]["touser"] == ALICE and sent["body"]["msgtype"] == "text"
    assert sent["body"]["text"]["content"] == (
        f"您的工单 {no} 已受理，由信创产品服务台负责处理，"
        "将在 2026-11-27 10:00 前与您联系并给出处理安排。"
    )
    (row,) = await outbox(svc, "progress")
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    assert await svc.dispatcher.dispatch_once() == 0
    assert len(svc.emulator.sent) == 1


async def test_45015_falls_back_to_a_template_message(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "电脑开不了机")
    svc.emulator.close_window(ALICE)  # WeChat's window closed though our record says open
    await transition(svc.desk, no, "accepted", AGENT)
    await svc.dispatcher.dispatch_once()
    custom_tries = [r for r in svc.emulator.requests if r[1].endswith("custom/send")]
    assert len(custom_tries) == 1
    (sent,) = svc.emulator.sent
    (row,) = await outbox(svc, "progress")
    assert sent["kind"] == "template"
    body = sent["body"]
    assert body["template_id"] == TEMPLATE and body["touser"] == ALICE
    assert body["client_msg_id"] == f"outbox-{row.id}"
    assert body["data"]["character_string1"]["value"] == no
    assert body["data"]["thing2"]["value"] == "已受理，正在安排处理"
    assert len(body["data"]["thing2"]["value"]) <= 20
    assert row.status == "sent"


async def test_outside_48_hours_the_template_goes_straight_away(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "VPN连不上")
    svc.clock.advance(hours=49)
    await transition(svc.desk, no, "accepted", AGENT)
    await svc.dispatcher.dispatch_once()
    assert not [r for r in svc.emulator.requests if r[1].endswith("custom/send")]
    assert [s["kind"] for s in svc.emulator.sent] == ["template"]


async def test_wechat_away_for_a_while_loses_nothing_and_sends_once(
    safe_service: WechatDesk,
) -> None:
    svc = safe_service
    no = await report(svc, "邮箱收不到邮件")
    await transition(svc.desk, no, "accepted", AGENT)
    svc.emulator.down = True
    await svc.dispatcher.dispatch_once()
    (row,) = await outbox(svc, "progress")
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error is not None and "503" in row.last_error
    assert await svc.dispatcher.dispatch_once() == 0  # backing off: not due yet
    svc.clock.advance(seconds=5)
    await svc.dispatcher.dispatch_once()  # still down: second attempt, longer wait
    (row,) = await outbox(svc, "progress")
    assert row.attempts == 2 and svc.emulator.sent == []
    svc.emulator.down = False
    svc.clock.advance(seconds=9)
    assert await svc.dispatcher.dispatch_once() == 0  # 10 s after the second failure
    svc.clock.advance(seconds=1)
    assert await svc.dispatcher.dispatch_once() == 1
    svc.clock.advance(hours=1)
    await svc.dispatcher.dispatch_once()
    assert len(svc.emulator.sent) == 1
    (row,) = await outbox(svc, "progress")
    assert row.status == "sent" and row.attempts == 3 and row.last_error is None


async def test_an_expired_token_is_refreshed_once(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "打印机不出纸")
    await transition(svc.desk, no, "accepted", AGENT)
    await svc.dispatcher.dispatch_once()
    assert svc.emulator.token_fetches == 1
    svc.emulator.expire_tokens()
    await transition(svc.desk, no, "responded", AGENT, {"handling_mode": "online"})
    await svc.dispatcher.dispatch_once()
    assert svc.emulator.token_fetches == 2
    assert len(svc.emulator.sent) == 2
    assert svc.emulator.sent[1]["body"]["text"]["content"] == (
        f"您的工单 {no} 已有技术人员响应，处理方式：{ONLINE}。"
    )


async def test_a_token_refused_again_and_again_is_not_retried_without_bound(
    safe_service: WechatDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = safe_service
    no = await report(svc, "电脑中毒了")
    await transition(svc.desk, no, "accepted", AGENT)

    def always_invalid(token: str) -> None:
        raise ApiError(40001)

    monkeypatch.setattr(svc.emulator, "_check_token", always_invalid)
    await svc.dispatcher.dispatch_once()
    token_calls = [r for r in svc.emulator.requests if r[1].endswith("stable_token")]
    assert len(token_calls) == 2  # the first token, one refresh: no loop
    assert len([r for r in svc.emulator.requests if r[1].endswith("custom/send")]) == 2
    (row,) = await outbox(svc, "progress")
    assert row.status == "pending" and "40001" in (row.last_error or "")


async def test_a_permanent_failure_shows_on_the_ticket(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "系统登录报错")
    svc.emulator.close_window(ALICE)
    svc.emulator.followers.discard(ALICE)  # unfollowed: template → 43004
    await transition(svc.desk, no, "accepted", AGENT)
    await svc.dispatcher.dispatch_once()
    (row,) = await outbox(svc, "progress")
    assert row.status == "dead" and "43004" in (row.last_error or "")
    async with svc.desk.uow() as uow:
        token = await create_token(uow.session, "agent", svc.clock())
        await uow.commit()
    async with svc.http.get(
        f"{svc.base}/api/v1/tickets/{no}", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        view = await resp.json()
    (notice,) = view["notices"]
    assert notice["status"] == "dead" and notice["kind"] == "progress"
    assert "43004" in notice["last_error"]
    async with svc.desk.sessions() as session:
        failed = select(Event.action).where(Event.action == "notice_failed")
        actions = list(await session.scalars(failed))
    assert actions == ["notice_failed"]
    await svc.dispatcher.dispatch_once()
    assert svc.emulator.sent == []


async def test_an_unfollowed_user_gets_no_notices_queued(safe_service: WechatDesk) -> None:
    svc = safe_service
    no = await report(svc, "扫描仪坏了")
    await svc.wechat.event(ALICE, "unsubscribe")
    await transition(svc.desk, no, "accepted", AGENT)
    assert await outbox(svc, "progress") == []


async def test_a_picture_is_fetched_into_the_ticket(safe_service: WechatDesk) -> None:
    svc = safe_service
    picture = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    svc.emulator.media["media-picture-1"] = (picture, "image/jpeg")
    await svc.wechat.text(ALICE, "打印机面板报错，见图")
    await svc.wechat.send(
        svc.wechat.message(ALICE, "image", PicUrl="http://mmbiz/x.jpg", MediaId="media-picture-1")
    )
    await svc.wechat.send(
        svc.wechat.message(ALICE, "image", PicUrl="http://mmbiz/y.jpg", MediaId="expired-media")
    )
    (ticket,) = await svc.tickets()  # the pictures joined the report
    await svc.dispatcher.dispatch_once()
    async with svc.desk.sessions() as session:
        files = list(await session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [f.work_order_id for f in files] == [ticket.id, ticket.id]
    assert files[0].status == "stored" and files[0].data == picture
    assert files[0].content_type == "image/jpeg" and files[0].filename == "media-picture-1.jpg"
    assert files[1].status == "failed" and "40007" in (files[1].error or "")


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A server that accepts connections and never answers."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/cgi-bin/"
    server.close()


async def test_the_token_fetch_has_a_timeout(
    safe_service: WechatDesk, silent_server: str
) -> None:
    store = ChannelStateStore(safe_service.desk.writer, safe_service.clock)
    api = WechatApi(APPID, SECRET, silent_server, store, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        await asyncio.to_thread(api.fetch_access_token)
    assert time.monotonic() - started < 5
