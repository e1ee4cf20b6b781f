"""Text messages to hotline callers on both databases: every progress step of a mobile caller's
ticket goes out as one SMS through the real outbox dispatcher, the survey comes as a callback task
and an SMS with the link, landlines and desks without an adapter get none, retries keep their
reference, a refused message is a dead letter. The gateway is the only stand-in:
`RecordingProvider` below, loaded by name the way a deployment names its adapter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from channels.sms.adapter import SmsConfigError, SmsRejected, SmsSender, load_provider
from classifier.triage import Triager
from server.app import DISPATCHER, build_app
from server.runtime import build_desk
from server.settings import Settings, SmsSettings
from tests.conftest import Clock
from tests.lifecycle import AGENT, order
from ticketing import calls, complaints
from ticketing.db import Database
from ticketing.desk import Desk
from ticketing.dispatch import OutboxDispatcher, RetryPolicy
from ticketing.orm import Event, OutboxMessage, Survey, Task
from ticketing.workflow import transition

SPEC = "tests.channels.sms.test_sms:factory"
MOBILE = "13607710003"
LANDLINE = "0771-5551234"
TAG = "【信创服务】"


class RecordingProvider:
    """An SMS gateway that keeps what it is given. `fail_times`: raise an ordinary (transient)
    error that many times first; `reject`: refuse every message for good."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.attempts: list[tuple[str, str, str]] = []
        self.sent: list[tuple[str, str, str]] = []
        self.fail_times = 0
        self.reject = False

    async def send(self, phone: str, text: str, reference: str) -> None:
        self.attempts.append((phone, text, reference))
        await asyncio.sleep(0)
        if self.reject:
            raise SmsRejected("号码不存在")
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("gateway timed out")
        self.sent.append((phone, text, reference))


PROVIDER = RecordingProvider()


def factory() -> RecordingProvider:
    """What `[sms] provider = "tests.channels.sms.test_sms:factory"` loads."""
    return PROVIDER


@dataclass
class Sms:
    desk: Desk
    provider: RecordingProvider
    dispatcher: OutboxDispatcher


@pytest.fixture
async def sms(db_url: str, clock: Clock, triager: Triager) -> AsyncIterator[Sms]:
    """A desk and app built from settings naming the SMS adapter, as in production; the outbox
    is stepped through by hand with the app's own dispatcher."""
    settings = Settings(sms=SmsSettings(provider=SPEC))
    database = Database.open(db_url)
    desk = replace(build_desk(settings, database, triager), clock=clock)
    assert desk.sms_enabled
    PROVIDER.reset()
    app = build_app(desk, settings, dispatch_in_background=False)
    yield Sms(desk, PROVIDER, app[DISPATCHER])
    PROVIDER.reset()
    await database.dispose()


async def hotline_ticket(desk: Desk, caller: str = MOBILE) -> str:
    started = desk.clock() - timedelta(minutes=3)
    logged = await calls.log_call(desk, calls.CallLog(
        caller=caller, started_at=started, answered_at=started + timedelta(seconds=8),
        agent="王", summary="财务科打印机卡纸，打不出公文", caller_name="张三",
    ))
    assert logged.result is not None and logged.result.ticket_no is not None
    return logged.result.ticket_no


STEPS: list[tuple[str, dict[str, object]]] = [
    ("accepted", {}),
    ("responded", {"engineer": "李工", "plan": "上门更换搓纸轮",
                   "expected_arrival": "2026-11-27T13:00:00+08:00"}),
    ("onsite", {"engineer": "李工"}),
    ("resolved", {"solution": "更换搓纸轮后打印正常"}),
    ("closed", {}),
]


async def outbox(desk: Desk, channel: str | None = None) -> list[OutboxMessage]:
    async with desk.sessions() as session:
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if channel is not None:
            stmt = stmt.where(OutboxMessage.channel == channel)
        return list(await session.scalars(stmt))


async def tasks_of(desk: Desk, no: str) -> list[Task]:
    ticket_id = (await order(desk, no)).id
    async with desk.sessions() as session:
        return list(await session.scalars(
            select(Task).where(Task.work_order_id == ticket_id).order_by(Task.id)))


async def survey_of(desk: Desk, no: str) -> Survey:
    ticket_id = (await order(desk, no)).id
    async with desk.sessions() as session:
        survey = await session.scalar(select(Survey).where(Survey.work_order_id == ticket_id))
    assert survey is not None
    return survey


async def test_each_step_of_a_mobile_callers_ticket_is_one_sms(sms: Sms) -> None:
    desk, provider = sms.desk, sms.provider
    no = await hotline_ticket(desk)
    assert await outbox(desk, "sms") == []  # the caller was answered on the phone
    texts: dict[str, str] = {}
    for step, supplied in STEPS:
        before = len(provider.sent)
        await transition(desk, no, step, AGENT, supplied)
        await sms.dispatcher.dispatch_once()
        new = provider.sent[before:]
        expected = 2 if step == "closed" else 1  # closing also brings the survey
        assert len(new) == expected, (step, new)
        for phone, text, reference in new:
            assert phone == MOBILE
            assert text.startswith(TAG) and no in text, text
            assert reference.startswith("outbox-")
        texts[step] = new[0][1]
        if step == "closed":
            texts["survey"] = new[1][1]
    assert "预计2026-11-27 13:00到场" in texts["responded"]
    assert "李工" in texts["responded"] and "上门更换搓纸轮" in texts["responded"]
    assert "李工" in texts["onsite"] and "更换搓纸轮后打印正常" in texts["resolved"]
    survey = await survey_of(desk, no)
    assert survey.channel == "phone"
    assert f"{desk.public_url}/survey/{survey.token}" in texts["survey"]
    # every row went out once, on the SMS channel, each with its own reference
    rows = await outbox(desk)
    assert [(r.channel, r.status, r.attempts) for r in rows] == [("sms", "sent", 1)] * 6
    assert [r.payload["step"] for r in rows] == [s for s, _ in STEPS] + ["survey"]
    assert [ref for _, _, ref in provider.sent] == [f"outbox-{r.id}" for r in rows]
    assert provider.attempts == provider.sent
    # the survey is still a callback for an agent
    (task,) = await tasks_of(desk, no)
    assert (task.kind, task.role, task.status, task.phone) == (
        "survey_call", "agent", "open", MOBILE)
    assert await sms.dispatcher.dispatch_once() == 0


async def test_a_landline_caller_gets_no_sms_but_a_callback(sms: Sms) -> None:
    desk = sms.desk
    no = await hotline_ticket(desk, LANDLINE)
    for step, supplied in STEPS:
        await transition(desk, no, step, AGENT, supplied)
    assert await sms.dispatcher.dispatch_once() == 0
    assert await outbox(desk, "sms") == [] and sms.provider.attempts == []
    (task,) = await tasks_of(desk, no)
    assert (task.kind, task.role, task.status, task.phone) == (
        "survey_call", "agent", "open", "07715551234")
    assert (await survey_of(desk, no)).channel == "phone"


async def test_a_complaint_is_acknowledged_and_settled_by_sms(sms: Sms) -> None:
    desk = sms.desk
    no = await hotline_ticket(desk)
    ticket_id = (await order(desk, no)).id
    now = desk.clock()

    def file_and_settle() -> int:
        with desk.writer.begin() as conn:
            complaint_id = complaints.file(desk, conn, ticket_id, "agent", "工程师迟到",
                                           AGENT.name, now)
            complaints.move(desk, conn, complaint_id, "investigating", AGENT.name, now)
            complaints.move(desk, conn, complaint_id, "remedied", AGENT.name, now,
                            remedy="更换工程师并当面致歉")
        return complaint_id

    complaint_id = await asyncio.to_thread(file_and_settle)
    await sms.dispatcher.dispatch_once()
    number = complaints.complaint_no(complaint_id)
    received, settled = (text for _, text, _ in sms.provider.sent)
    assert received.startswith(TAG) and no in received and number in received
    assert settled.startswith(TAG) and number in settled and "更换工程师并当面致歉" in settled
    assert await tasks_of(desk, no) == []  # told by SMS: no callback needed


async def test_transient_failures_are_retried_with_the_same_reference(
    sms: Sms, clock: Clock
) -> None:
    desk, provider = sms.desk, sms.provider
    no = await hotline_ticket(desk)
    provider.fail_times = 2
    await transition(desk, no, "accepted", AGENT)
    assert await sms.dispatcher.dispatch_once() == 1
    (row,) = await outbox(desk, "sms")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "ConnectionError: gateway timed out"
    assert row.next_attempt_at == clock() + RetryPolicy().delay(1)
    assert await sms.dispatcher.dispatch_once() == 0  # not due yet
    clock.advance(seconds=5)
    assert await sms.dispatcher.dispatch_once() == 1
    (row,) = await outbox(desk, "sms")
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == clock() + RetryPolicy().delay(2)
    clock.advance(seconds=10)
    assert await sms.dispatcher.dispatch_once() == 1
    (row,) = await outbox(desk, "sms")
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert len(provider.sent) == 1 and len(provider.attempts) == 3
    assert {ref for _, _, ref in provider.attempts} == {f"outbox-{row.id}"}
    assert {text for _, text, _ in provider.attempts} == {row.body}
    clock.advance(hours=1)
    assert await sms.dispatcher.dispatch_once() == 0 and len(provider.attempts) == 3


async def test_a_refused_sms_is_a_dead_letter_on_the_ticket(sms: Sms, clock: Clock) -> None:
    desk, provider = sms.desk, sms.provider
    no = await hotline_ticket(desk)
    provider.reject = True
    await transition(desk, no, "accepted", AGENT)
    await sms.dispatcher.dispatch_once()
    (row,) = await outbox(desk, "sms")
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error == "SMS refused: 号码不存在"
    ticket_id = (await order(desk, no)).id
    async with desk.sessions() as session:
        (failed,) = await session.scalars(select(Event).where(
            Event.work_order_id == ticket_id, Event.action == "notice_failed"))
    assert failed.data["outbox_id"] == row.id and failed.data["channel"] == "sms"
    assert failed.data["attempts"] == 1
    clock.advance(hours=2)
    assert await sms.dispatcher.dispatch_once() == 0
    assert len(provider.attempts) == 1 and provider.sent == []


async def test_without_an_adapter_no_sms_is_ever_queued(desk: Desk) -> None:
    assert not desk.sms_enabled
    no = await hotline_ticket(desk)
    for step, supplied in STEPS:
        await transition(desk, no, step, AGENT, supplied)
    ticket_id = (await order(desk, no)).id

    def complain() -> None:
        now = desk.clock()
        with desk.writer.begin() as conn:
            complaint_id = complaints.file(desk, conn, ticket_id, "agent", "态度差", "王", now)
            complaints.move(desk, conn, complaint_id, "investigating", "王", now)
            complaints.move(desk, conn, complaint_id, "remedied", "王", now, remedy="致歉")

    await asyncio.to_thread(complain)
    assert [r for r in await outbox(desk) if r.channel == "sms"] == []
    assert sorted(t.kind for t in await tasks_of(desk, no)) == ["complaint_call", "survey_call"]
    # and the app registers no SMS channel: an "sms" row would never be claimed
    dispatcher = build_app(desk, dispatch_in_background=False)[DISPATCHER]
    with desk.writer.begin() as conn:
        conn.execute(OutboxMessage.__table__.insert().values(
            dedupe_key="stray", channel="sms", recipient=MOBILE, kind="progress", body="x",
            payload={}, work_order_id=ticket_id, status="pending", attempts=0,
            next_attempt_at=desk.clock(), created_at=desk.clock()))
    assert await dispatcher.dispatch_once() == 0


@pytest.mark.parametrize(("spec", "words"), [
    ("nonsense", "must look like package.module:factory"),
    (":factory", "must look like package.module:factory"),
    ("tests.channels.sms.test_sms:", "must look like package.module:factory"),
    ("nomodule.x:y", "cannot be loaded"),
    ("tests.channels.sms.test_sms:missing", "cannot be loaded"),
])
def test_a_bad_provider_name_is_a_clear_error(spec: str, words: str) -> None:
    with pytest.raises(SmsConfigError) as caught:
        load_provider(spec)
    message = str(caught.value)
    assert message.startswith("[sms] provider") and words in message and repr(spec) in message


def test_the_provider_is_loaded_by_name() -> None:
    assert load_provider(SPEC) is PROVIDER
    assert isinstance(SmsSender(load_provider(SPEC)), SmsSender)
