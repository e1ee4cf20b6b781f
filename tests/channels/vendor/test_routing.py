"""Tickets reach the responsible companies: responsibility from the contracts registry, a signed
webhook a receiver written here verifies, retries across its outage with exactly one delivery,
e-mail for companies without a webhook, dead letters for refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from aiohttp import web
from sqlalchemy import select

from channels.vendor.webhook import VENDOR_RETRY, VendorWebhookSender
from tests.conftest import Clock
from ticketing import intake
from ticketing.contracts import import_contracts_sync
from ticketing.desk import Desk
from ticketing.directory import add_vendor
from ticketing.dispatch import OutboxDispatcher, OutboxItem
from ticketing.model import Inbound, Sender
from ticketing.orm import Event, OutboxMessage, WorkOrder

UNIT = "南宁市青秀区财政局"


@dataclass(frozen=True)
class Row:
    org_name: str
    product_category: str
    seller: str
    sale_date: date
    product_brand: str | None = None
    product_model: str | None = None
    integrator: str | None = None
    related_parties: tuple[str, ...] = ()


@dataclass
class Receiver:
    """A vendor's webhook endpoint: checks the signature like a vendor would."""

    secret: str
    answers: list[int] = field(default_factory=list)  # statuses to give, then 200
    accepted: list[dict] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # idempotency keys seen
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Xcdesk-Signature", "")):
            return web.Response(status=401, text="bad signature")
        self.attempts.append(request.headers["X-Xcdesk-Idempotency-Key"])
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.accepted.append(json.loads(body))
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(secret="s3cret-甲")
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    r.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield r
    await runner.cleanup()


async def vendors(desk: Desk, receiver: Receiver) -> None:
    now = desk.clock()
    async with desk.uow() as uow:
        await add_vendor(uow.session, "甲销售公司", now, webhook_url=receiver.url,
                         webhook_secret=receiver.secret)
        await add_vendor(uow.session, "乙集成公司", now, webhook_url=receiver.url,
                         webhook_secret=receiver.secret)
        await add_vendor(uow.session, "丙厂商", now, email="service@bing.example")
        await uow.commit()


async def report(desk: Desk, text: str, n: int = 1) -> WorkOrder:
    result = await intake.receive(desk, Inbound(
        channel_detail="api", external_id=f"r-{n}", received_at=desk.clock(), text=text,
        sender=Sender(name="张三", phone="13800771234", org_name=UNIT),
        fields={"product_category": "terminal"},
    ))
    async with desk.sessions() as session:
        order = await session.scalar(select(WorkOrder).where(
            WorkOrder.ticket_no == result.ticket_no))
    assert order is not None
    return order


def dispatcher(desk: Desk) -> OutboxDispatcher:
    sender = VendorWebhookSender(desk, timeout=5)

    async def mail(item: OutboxItem) -> None:  # e-mail has its own tests; recorded here
        mailed.append(item)

    mailed: list[OutboxItem] = []
    d = OutboxDispatcher(desk, {"vendor": sender.deliver, "email": mail},
                         policies={"vendor": VENDOR_RETRY})
    d.mailed = mailed  # type: ignore[attr-defined]
    return d


async def test_signed_by_seller_with_a_copy_to_the_maker(desk: Desk, receiver: Receiver) -> None:
    await vendors(desk, receiver)
    await asyncio.to_thread(import_contracts_sync, desk, [
        Row(UNIT, "terminal", "甲销售公司", date(2025, 6, 1), "长城",
            related_parties=("丙厂商",)),
    ])
    order = await report(desk, "财务室长城电脑开不了机")
    assert order.responsibility_basis == "signed_by"
    assert order.primary_vendor is not None and order.primary_vendor.name == "甲销售公司"
    assert order.secondary_vendors == ["丙厂商"]
    assert order.sale_date == date(2025, 6, 1) and order.in_free_period is True
    d = dispatcher(desk)
    assert await d.dispatch_once() == 2
    (pushed,) = receiver.accepted
    assert pushed["role"] == "primary" and pushed["event"] == "new"
    assert pushed["ticket"]["ticket_no"] == order.ticket_no
    assert pushed["ticket"]["contact_phone"] == "13800771234"  # the primary sees it whole
    assert pushed["ticket"]["sale_date"] == "2025-06-01"
    assert pushed["ticket"]["free_period_until"] == "2028-06-01"  # hardware: 3 years
    assert pushed["ticket"]["service_period_until"] == "2031-06-01"
    assert pushed["ticket"]["in_free_period"] is True
    (mail,) = d.mailed  # type: ignore[attr-defined]
    assert mail.recipient == "service@bing.example" and mail.kind == "vendor_ticket"


async def test_the_integrator_leads_when_integration_was_bought(
    desk: Desk, receiver: Receiver
) -> None:
    await vendors(desk, receiver)
    await asyncio.to_thread(import_contracts_sync, desk, [
        Row(UNIT, "terminal", "甲销售公司", date(2020, 1, 10), integrator="乙集成公司"),
    ])
    order = await report(desk, "电脑蓝屏")
    assert order.responsibility_basis == "integrator"
    assert order.primary_vendor is not None and order.primary_vendor.name == "乙集成公司"
    assert order.secondary_vendors == ["甲销售公司"]
    assert order.in_free_period is False  # hardware sold in 2020: free period over
    d = dispatcher(desk)
    await d.dispatch_once()
    copy = next(p for p in receiver.accepted if p["role"] == "secondary")
    assert copy["ticket"]["contact_phone"] == "138****1234"  # a secondary company's copy


async def test_two_sellers_no_integrator_is_first_inquiry(desk: Desk, receiver: Receiver) -> None:
    await vendors(desk, receiver)
    await asyncio.to_thread(import_contracts_sync, desk, [
        Row(UNIT, "terminal", "甲销售公司", date(2025, 1, 1), "长城"),
        Row(UNIT, "terminal", "乙集成公司", date(2025, 2, 1), "同方"),
    ])
    order = await report(desk, "电脑很慢")
    assert order.responsibility_basis == "first_inquiry" and order.primary_vendor is None
    assert await dispatcher(desk).dispatch_once() == 0  # nobody to send it to until picked


async def test_an_outage_of_the_receiver_ends_in_exactly_one_delivery(
    desk: Desk, clock: Clock, receiver: Receiver
) -> None:
    await vendors(desk, receiver)
    await asyncio.to_thread(import_contracts_sync, desk, [
        Row(UNIT, "terminal", "甲销售公司", date(2025, 6, 1))])
    await report(desk, "电脑开不了机")
    receiver.answers = [503, 502, 429]
    d = dispatcher(desk)
    for _ in range(6):
        await d.dispatch_once()
        clock.advance(minutes=5)
    assert len(receiver.accepted) == 1
    assert len(receiver.attempts) == 4 and len(set(receiver.attempts)) == 1  # one key
    async with desk.sessions() as session:
        (row,) = list(await session.scalars(select(OutboxMessage)))
    assert row.status == "sent" and row.attempts == 4


async def test_a_refusal_is_a_dead_letter_on_the_ticket(desk: Desk, receiver: Receiver) -> None:
    await vendors(desk, receiver)
    await asyncio.to_thread(import_contracts_sync, desk, [
        Row(UNIT, "terminal", "甲销售公司", date(2025, 6, 1))])
    order = await report(desk, "电脑开不了机")
    receiver.answers = [400]
    await dispatcher(desk).dispatch_once()
    async with desk.sessions() as session:
        (row,) = list(await session.scalars(select(OutboxMessage)))
        events = list(await session.scalars(select(Event.action).where(
            Event.work_order_id == order.id, Event.action == "notice_failed")))
    assert row.status == "dead" and "400" in (row.last_error or "")
    assert events == ["notice_failed"]


def test_retries_go_on_for_about_a_day() -> None:
    total = sum((VENDOR_RETRY.delay(n) for n in range(1, VENDOR_RETRY.max_attempts)),
                start=VENDOR_RETRY.delay(0) * 0)
    assert 23 * 3600 <= total.total_seconds() <= 26 * 3600


async def test_importing_contracts_twice_changes_nothing(desk: Desk, receiver: Receiver) -> None:
    rows = [Row(UNIT, "terminal", "甲销售公司", date(2025, 6, 1), related_parties=("新厂商",))]
    first = await asyncio.to_thread(import_contracts_sync, desk, rows)
    again = await asyncio.to_thread(import_contracts_sync, desk, rows)
    assert (first.inserted, first.vendors_added) == (1, 2)
    assert (again.inserted, again.duplicates, again.vendors_added) == (0, 1, 0)
