"""The survey by e-mail: a link to the web form (one use, valid 7 days), or a digit in a reply."""

from __future__ import annotations

import asyncio
import re
import smtplib
from collections.abc import AsyncIterator
from dataclasses import replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import aiohttp
import pytest
from sqlalchemy import select

from server.app import DISPATCHER, build_app, make_runner
from server.settings import EmailSettings, Settings
from tests.channels.email.conftest import SmtpSink, free_port
from tests.conftest import Clock
from tests.lifecycle import close, order
from ticketing.desk import Desk
from ticketing.orm import Event, Survey, WorkOrder

ALICE = "oAlice_0000000000000000000001"


@pytest.fixture
async def mail_service(
    desk: Desk, smtp_sink: SmtpSink
) -> AsyncIterator[tuple[Desk, int, object, str]]:
    desk = replace(desk, supervisor_email="jdj@gxzf.gov.cn")
    smtp_port = free_port()
    settings = Settings(email=EmailSettings(
        addresses="helpdesk@xcdesk.example", smtp_port=smtp_port,
        smarthost=f"{smtp_sink.host}:{smtp_sink.port}",
    ))
    app = build_app(desk, settings, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    from aiohttp import web

    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield desk, smtp_port, app[DISPATCHER], base
    await runner.cleanup()


async def mail_report(port: int, body: str, subject: str, n: int) -> None:
    message = EmailMessage()
    message["From"] = "李四 <lisi@lzjy.gov.cn>"
    message["To"] = "helpdesk@xcdesk.example"
    message["Subject"] = subject
    message["Message-ID"] = f"<survey-{n}@lzjy.gov.cn>"
    message.set_content(body)

    def go() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(message)

    await asyncio.to_thread(go)


async def survey_link(sink: SmtpSink, n: int) -> str:
    """The link of the one survey mail among what the sink received."""
    messages = await asyncio.to_thread(sink.wait_for, n)
    links = []
    for message in messages:
        mail = BytesParser(policy=policy.default).parsebytes(message.content)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        links += re.findall(r"http://\S+/survey/\S+", text)
    assert len(links) == 1, links
    return links[0]


async def test_email_survey_web_form_once_and_not_after_7_days(
    mail_service: tuple[Desk, int, object, str], smtp_sink: SmtpSink, clock: Clock,
) -> None:
    desk, port, dispatcher, base = mail_service
    await mail_report(port, "打印机卡纸", "打印机故障", 1)
    (ticket,) = [o async for o in _tickets(desk)]
    await close(desk, ticket.ticket_no)
    while await dispatcher.dispatch_once():  # type: ignore[attr-defined]
        pass
    link = (await survey_link(smtp_sink, len(smtp_sink.messages))).replace(
        "http://127.0.0.1:8080", base)
    async with aiohttp.ClientSession() as http:
        async with http.get(link) as resp:
            page = await resp.text()
        assert resp.status == 200 and "非常不满意" in page and ticket.ticket_no in page
        async with http.post(link, data={"satisfaction": "very_dissatisfied",
                                         "comment": "等了两天"}) as resp:
            assert resp.status == 200 and "感谢您的评价" in await resp.text()
        async with http.post(link, data={"satisfaction": "satisfied"}) as resp:
            assert resp.status == 410 and "不能重复提交" in await resp.text()
    done = await order(desk, ticket.ticket_no)
    assert (done.satisfaction, done.follow_up_feedback) == ("very_dissatisfied", "等了两天")
    async with desk.sessions() as session:
        follow = list(await session.scalars(select(Event.action).where(
            Event.action == "follow_up_needed")))
    assert follow == ["follow_up_needed"]
    # a second ticket's survey, left for 7 days
    await mail_report(port, "扫描仪坏了", "扫描仪故障", 2)
    second = [o async for o in _tickets(desk)][-1]
    await close(desk, second.ticket_no)
    async with desk.sessions() as session:
        survey = await session.scalar(select(Survey).where(
            Survey.work_order_id == second.id))
    assert survey is not None
    clock.advance(days=7, seconds=1)
    async with aiohttp.ClientSession() as http, http.post(
        f"{base}/survey/{survey.token}", data={"satisfaction": "satisfied"}
    ) as resp:
        assert resp.status == 410 and "已过期" in await resp.text()
    async with aiohttp.ClientSession() as http, http.get(f"{base}/survey/nonsense") as resp:
        assert resp.status == 404


async def test_email_digit_reply_answers_the_survey(
    mail_service: tuple[Desk, int, object, str],
) -> None:
    desk, port, _dispatcher, _base = mail_service
    await mail_report(port, "OA登录不了", "OA故障", 1)
    (ticket,) = [o async for o in _tickets(desk)]
    await close(desk, ticket.ticket_no)
    await mail_report(port, "1", f"回复：[{ticket.ticket_no}] 服务满意度调查", 2)
    done = await order(desk, ticket.ticket_no)
    assert (done.rated, done.satisfaction) == (True, "very_satisfied")


async def _tickets(desk: Desk):  # type: ignore[no-untyped-def]
    async with desk.sessions() as session:
        for o in await session.scalars(select(WorkOrder).order_by(WorkOrder.id)):
            yield o
