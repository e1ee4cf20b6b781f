"""Replies by e-mail, end to end: a report over SMTP, the acknowledgement and a progress notice
through the outbox to a real SMTP smarthost (an aiosmtpd sink), threaded and encoded right; the
smarthost away for a while loses nothing and sends nothing twice."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from server.app import DISPATCHER, build_app, make_runner
from server.settings import EmailSettings, Settings
from tests.channels.email.conftest import SmtpSink, free_port
from tests.conftest import Clock
from ticketing.desk import Desk
from ticketing.dispatch import OutboxDispatcher
from ticketing.workflow import Actor, transition

SERVICE = "helpdesk@xcdesk.example"
AGENT = Actor(name="agent:王", role="agent")


@pytest.fixture
async def service(
    desk: Desk, smtp_sink: SmtpSink
) -> AsyncIterator[tuple[int, OutboxDispatcher]]:
    port = free_port()
    settings = Settings(email=EmailSettings(
        addresses=SERVICE, smtp_port=port, smarthost=f"{smtp_sink.host}:{smtp_sink.port}",
        message_id_domain="xcdesk.example",
    ))
    app = build_app(desk, settings, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    yield port, app[DISPATCHER]
    await runner.cleanup()


async def send_report(port: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "李四 <lisi@lzjy.gov.cn>"
    message["To"] = SERVICE
    message["Subject"] = "教育局服务器宕机"
    message["Message-ID"] = "<report-77@lzjy.gov.cn>"
    message.set_content("柳州市柳北区教育局的业务服务器宕机，全局办公停止。", charset="gb18030")

    def go() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(message)

    await asyncio.to_thread(go)
    return message


def read(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


async def test_acknowledgement_and_progress_are_threaded_chinese_mail(
    service: tuple[int, OutboxDispatcher], smtp_sink: SmtpSink, desk: Desk
) -> None:
    port, dispatcher = service
    await send_report(port)
    assert await dispatcher.dispatch_once() == 1
    (ack,) = await asyncio.to_thread(smtp_sink.wait_for, 1)
    assert ack.rcpt_tos == ["lisi@lzjy.gov.cn"] and ack.mail_from == SERVICE
    assert b"\r\n" in ack.content and b"\n\n" not in ack.content.replace(b"\r\n", b"")
    mail = read(ack.content)
    ticket_no = mail["Subject"].split("]")[0].strip("[")
    assert mail["Subject"] == f"[{ticket_no}] 问题已受理登记"
    assert b"=?utf-8?" in ack.content  # the subject travels RFC 2047 encoded
    assert mail["In-Reply-To"] == "<report-77@lzjy.gov.cn>"
    assert mail["References"] == "<report-77@lzjy.gov.cn>"
    assert mail["Message-ID"].startswith(f"<{ticket_no}.ack.") and "@xcdesk.example>" in mail[
        "Message-ID"]
    assert mail["Auto-Submitted"] == "auto-replied"
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert f"工单号：{ticket_no}" in plain.get_content()
    assert ticket_no in html.get_content() and "<p>" in html.get_content()
    await transition(desk, ticket_no, "accepted", AGENT)
    assert await dispatcher.dispatch_once() == 1
    _, progress = await asyncio.to_thread(smtp_sink.wait_for, 2)
    notice = read(progress.content)
    assert notice["Subject"] == f"[{ticket_no}] 工单已受理"
    assert "已受理" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_smarthost_away_then_back_sends_once(
    desk: Desk, clock: Clock, smtp_sink: SmtpSink
) -> None:
    port = free_port()
    dead_smarthost = f"127.0.0.1:{free_port()}"  # nobody listens there
    settings = Settings(email=EmailSettings(addresses=SERVICE, smtp_port=port,
                                            smarthost=dead_smarthost))
    app = build_app(desk, settings, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    try:
        await send_report(port)
        assert await app[DISPATCHER].dispatch_once() == 1  # tried, failed, kept
    finally:
        await runner.cleanup()
    # the service restarts with the smarthost reachable; the row is due after its backoff
    settings = Settings(email=EmailSettings(
        addresses=SERVICE, smtp_port=free_port(), smarthost=f"{smtp_sink.host}:{smtp_sink.port}"
    ))
    app = build_app(desk, settings, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    try:
        assert await app[DISPATCHER].dispatch_once() == 0
        clock.advance(seconds=5)
        assert await app[DISPATCHER].dispatch_once() == 1
        clock.advance(hours=1)
        assert await app[DISPATCHER].dispatch_once() == 0
    finally:
        await runner.cleanup()
    assert len(smtp_sink.messages) == 1


async def test_a_tickets_whole_life_by_mail(
    service: tuple[int, OutboxDispatcher], smtp_sink: SmtpSink, desk: Desk
) -> None:
    port, dispatcher = service
    await send_report(port)
    await dispatcher.dispatch_once()
    (ack,) = await asyncio.to_thread(smtp_sink.wait_for, 1)
    no = read(ack.content)["Subject"].split("]")[0].removeprefix("[")
    received = 1

    async def next_mail(target: str | None = None, **extra: str) -> tuple[str, str]:
        nonlocal received
        if target is not None:
            await transition(desk, no, target, AGENT, extra)
        await dispatcher.dispatch_once()
        received += 1
        mail = read((await asyncio.to_thread(smtp_sink.wait_for, received))[-1].content)
        assert mail["To"] == "lisi@lzjy.gov.cn"
        body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert body.startswith("李四，您好：") and body.rstrip().endswith("广西信创产品服务平台")
        return str(mail["Subject"]), body

    subject, body = await next_mail("accepted")
    assert subject == f"[{no}] 工单已受理"
    assert f"您反馈的问题（工单号 {no}）已受理。\n负责企业：信创产品服务台" in body
    assert "响应时限：2026-11-27 10:00 前" in body

    subject, body = await next_mail(
        "responded", handling_mode="onsite", engineer="黄工", plan="更换电源模块",
        expected_arrival="2026-11-27T11:30:00+08:00")
    assert subject == f"[{no}] 技术人员已响应"
    assert ("技术人员：黄工\n处理方式：线下\n处理方案：更换电源模块\n"
            "预计到达：2026-11-27 11:30") in body

    subject, body = await next_mail("onsite")
    assert subject == f"[{no}] 技术人员已到场" and "已于 2026-11-27 09:00 到达现场" in body

    subject, body = await next_mail("resolved", solution="更换了损坏的电源模块，服务器已恢复")
    assert subject == f"[{no}] 处理完成，请确认"
    assert "处理结果：更换了损坏的电源模块，服务器已恢复" in body and "“已解决”" in body

    reply = EmailMessage()
    reply["From"] = "李四 <lisi@lzjy.gov.cn>"
    reply["To"] = SERVICE
    reply["Subject"] = f"Re: [{no}] 处理完成，请确认"
    reply.set_content("已解决")

    def go() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(reply)

    await asyncio.to_thread(go)
    await dispatcher.dispatch_once()  # closed, and the survey: sent side by side
    last = [read(m.content) for m in (await asyncio.to_thread(smtp_sink.wait_for, received + 2))]
    by_subject = {str(m["Subject"]): m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                  for m in last[received:]}
    assert set(by_subject) == {f"[{no}] 工单已关闭", f"[{no}] 服务满意度调查"}
    survey = by_subject[f"[{no}] 服务满意度调查"]
    assert "/survey/" in survey and "1 非常满意　2 满意　3 一般　4 不满意　5 非常不满意" in survey
