"""Mail delivered to the service over real SMTP: 250 only after commit, 550 for strangers'
addresses, 552 over the size limit, 451 while the database is away (and 250 once it is back)."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from server.app import DISPATCHER, build_app, make_runner
from server.settings import EmailSettings, Settings
from tests.conftest import Clock
from ticketing.desk import Desk
from ticketing.dispatch import OutboxDispatcher
from ticketing.orm import Attachment, Contact, InboundMessage, OutboxMessage, WorkOrder

SERVICE = "helpdesk@xcdesk.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailDesk:
    desk: Desk
    clock: Clock
    smtp_port: int
    dispatcher: OutboxDispatcher

    async def send(self, message: EmailMessage | bytes, to: str = SERVICE,
                   sender: str = "zhangsan@nn.gov.cn") -> dict[str, tuple[int, bytes]]:
        def go() -> dict[str, tuple[int, bytes]]:
            with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
                if isinstance(message, bytes):
                    return smtp.sendmail(sender, [to], message)  # type: ignore[return-value]
                return smtp.send_message(message, sender, [to])  # type: ignore[return-value]

        return await asyncio.to_thread(go)

    async def tickets(self) -> list[WorkOrder]:
        async with self.desk.sessions() as session:
            return list(await session.scalars(select(WorkOrder).order_by(WorkOrder.id)))


def settings_for(smtp_port: int, **email: object) -> Settings:
    values: dict[str, object] = {"addresses": SERVICE, "smtp_port": smtp_port,
                                 "max_message_bytes": 200_000} | email
    return Settings(email=EmailSettings(**values))  # type: ignore[arg-type]


@pytest.fixture
async def mail_desk(desk: Desk, clock: Clock) -> AsyncIterator[MailDesk]:
    port = free_port()
    app = build_app(desk, settings_for(port), dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()  # starts the SMTP server with the app's workers
    yield MailDesk(desk, clock, port, app[DISPATCHER])
    await runner.cleanup()


def report(subject: str, body: str, charset: str = "gb18030") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "张三 <ZhangSan@nn.gov.cn>"
    message["To"] = SERVICE
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((subject, body)))}@nn.gov.cn>"
    message.set_content(body, charset=charset)
    return message


async def test_a_mail_becomes_a_ticket_after_250(mail_desk: MailDesk) -> None:
    message = report("财务科打印机卡纸", "您好，财务科的奔图打印机卡纸，麻烦派人来看看。\n\n张三\n"
                     "南宁市青秀区财政局\n电话：0771-5551234")
    message.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf",
                           filename="故障照片说明.pdf")
    refused = await mail_desk.send(message)
    assert refused == {}
    (ticket,) = await mail_desk.tickets()
    assert ticket.channel == "email" and ticket.channel_detail == "email"
    assert ticket.description == "您好，财务科的奔图打印机卡纸，麻烦派人来看看。"
    assert ticket.product_category == "peripheral"
    assert (ticket.org_name, ticket.contact_name, ticket.contact_phone) == (
        "南宁市青秀区财政局", "张三", "0771-5551234")
    async with mail_desk.desk.sessions() as session:
        (ack,) = list(await session.scalars(select(OutboxMessage)))
        files = list(await session.scalars(select(Attachment)))
        contact = await session.scalar(select(Contact))
    assert ack.channel == "email" and ack.recipient == "zhangsan@nn.gov.cn"
    assert ack.subject == f"[{ticket.ticket_no}] 问题已受理登记"
    assert ack.payload["in_reply_to"] == message["Message-ID"]
    assert [(f.filename, f.status, f.data) for f in files] == [
        ("故障照片说明.pdf", "stored", b"%PDF-1.4 test")]
    assert contact is not None and contact.email == "zhangsan@nn.gov.cn"


async def test_the_same_mail_twice_is_one_ticket(mail_desk: MailDesk) -> None:
    message = report("OA登录不了", "OA系统登录报错")
    await mail_desk.send(message)
    await mail_desk.send(message)
    assert len(await mail_desk.tickets()) == 1


async def test_a_reply_with_the_ticket_tag_joins_the_ticket(mail_desk: MailDesk) -> None:
    await mail_desk.send(report("电脑蓝屏", "电脑开机就蓝屏"))
    (ticket,) = await mail_desk.tickets()
    await mail_desk.send(report(f"回复：[{ticket.ticket_no}] 问题已受理登记", "重启后还是蓝屏"))
    assert len(await mail_desk.tickets()) == 1


async def test_a_reply_to_our_message_id_joins_the_ticket(mail_desk: MailDesk) -> None:
    await mail_desk.send(report("VPN连不上", "VPN 一直连不上"))
    (ticket,) = await mail_desk.tickets()
    reply = report("答复", "现在可以了吗？还是不行")
    reply["In-Reply-To"] = f"<{ticket.ticket_no}.ack.1@xcdesk.local>"
    await mail_desk.send(reply)
    assert len(await mail_desk.tickets()) == 1


async def test_an_out_of_office_reply_opens_nothing(mail_desk: MailDesk) -> None:
    auto = report("自动回复：我正在休假", "我 12 月 1 日前休假，急事请联系李四。")
    auto["Auto-Submitted"] = "auto-replied"
    assert await mail_desk.send(auto) == {}
    assert await mail_desk.tickets() == []
    async with mail_desk.desk.sessions() as session:
        assert len(list(await session.scalars(select(InboundMessage)))) == 1  # kept all the same


async def test_a_mail_storm_opens_a_limited_number_of_tickets(mail_desk: MailDesk) -> None:
    for i in range(14):
        await mail_desk.send(report(f"第{i}封", f"打印机第{i}次卡纸"))
    assert len(await mail_desk.tickets()) == 10  # new_tickets_per_hour
    async with mail_desk.desk.sessions() as session:
        assert len(list(await session.scalars(select(InboundMessage)))) == 14


async def test_strangers_addresses_are_refused_with_550(mail_desk: MailDesk) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        await mail_desk.send(report("x", "y"), to="someone@else.example")
    (code, reply), = err.value.recipients.values()
    assert code == 550 and "no such recipient" in reply.decode()


async def test_a_mail_over_the_size_limit_is_refused_with_552(mail_desk: MailDesk) -> None:
    message = report("大附件", "见附件")
    message.add_attachment(b"\0" * 300_000, maintype="application", subtype="octet-stream",
                           filename="big.bin")
    # smtplib declares the size in MAIL FROM, so the refusal comes before the data is sent
    with pytest.raises(smtplib.SMTPResponseException) as err:
        await mail_desk.send(message)
    assert err.value.smtp_code == 552
    assert await mail_desk.tickets() == []


async def test_451_while_the_database_is_away_then_250(
    mail_desk: MailDesk, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("takes PostgreSQL away; a SQLite file cannot go away under its writer")
    url = make_url(db_url)
    name = url.database
    admin = await asyncpg.connect(
        user=url.username, host=url.host, port=url.port, database="postgres"
    )
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()", name,
        )
        with pytest.raises(smtplib.SMTPDataError) as err:
            await mail_desk.send(report("服务器宕机", "全局办公停止"))
        assert err.value.smtp_code == 451
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert await mail_desk.send(report("服务器宕机", "全局办公停止")) == {}  # the retry
    assert len(await mail_desk.tickets()) == 1


async def test_a_bounce_marks_the_address_and_stops_mail_to_it(mail_desk: MailDesk) -> None:
    from ticketing.workflow import Actor, transition

    await mail_desk.send(report("打印机卡纸", "财务科打印机卡纸"))
    (ticket,) = await mail_desk.tickets()
    bounce = (
        "From: MAILER-DAEMON@mail.xcdesk.example (Mail Delivery System)\r\n"
        f"To: {SERVICE}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mail.xcdesk.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.xcdesk.example\r\n\r\n"
        "Final-Recipient: rfc822; ZhangSan@nn.gov.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b1--\r\n"
    ).encode()
    assert await mail_desk.send(bounce, sender="") == {}
    assert len(await mail_desk.tickets()) == 1  # a bounce opens nothing
    async with mail_desk.desk.sessions() as session:
        contacts = list(await session.scalars(select(Contact)))
    assert len(contacts) == 1  # the mailer daemon is not registered as a person
    contact = contacts[0]
    assert contact is not None and contact.email_undeliverable_at is not None
    await transition(mail_desk.desk, ticket.ticket_no, "accepted", Actor("agent:王", "agent"))
    async with mail_desk.desk.sessions() as session:
        kinds = list(await session.scalars(select(OutboxMessage.kind)))
    assert kinds == ["ack"]  # no progress notice to an address that bounces
