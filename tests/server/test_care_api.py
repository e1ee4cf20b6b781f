"""User care over the REST API on a real port: the complaint ledger (filing, its life, the
deadlines the SLA watcher enforces), tasks for people and the survey answer an agent takes on the
phone. Hotline tickets are opened the way agents open them, with POST /api/v1/calls."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Clock
from tests.lifecycle import order
from tests.server.conftest import Api
from ticketing.desk import Desk
from ticketing.orm import Complaint, Event, OutboxMessage
from ticketing.sla_watch import SlaWatcher

SUPERVISOR = "jdj@gxzf.gov.cn"
MOBILE = "13607710003"


@pytest.fixture
def desk(desk: Desk, db_url: str) -> Desk:
    """The shared desk, with a supervisor address: complaint deadlines are mailed there.
    (`db_url` is named so that pytest still runs each test on both databases.)"""
    return replace(desk, supervisor_email=SUPERVISOR)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def phone_ticket(api: Api, caller: str = MOBILE, summary: str = "财务科打印机卡纸") -> str:
    started = api.desk.clock() - timedelta(minutes=5)
    status, body = await api.call("POST", "/api/v1/calls", json={
        "caller": caller, "started_at": started.isoformat(),
        "answered_at": (started + timedelta(seconds=10)).isoformat(), "summary": summary,
    })
    assert status == 201, body
    no: str = body["ticket"]["ticket_no"]
    return no


async def walk_to_closed(api: Api, no: str) -> None:
    for step in ({"to": "accepted"}, {"to": "responded", "handling_mode": "online"},
                 {"to": "resolved", "solution": "重新安装打印驱动"}, {"to": "closed"}):
        status, body = await api.call("POST", f"/api/v1/tickets/{no}/transitions", json=step)
        assert status == 200, body


async def file_complaint(api: Api, no: str, **extra: str) -> tuple[int, dict[str, Any]]:
    return await api.call("POST", f"/api/v1/tickets/{no}/complaints",
                          json={"summary": "工程师迟到两小时，态度也不好", **extra})


async def move(api: Api, number: str, **body: str) -> tuple[int, dict[str, Any]]:
    return await api.call("POST", f"/api/v1/complaints/{number}/transitions", json=body)


async def events(desk: Desk, no: str, action: str) -> list[Event]:
    ticket_id = (await order(desk, no)).id
    async with desk.sessions() as session:
        return list(await session.scalars(
            select(Event).where(Event.work_order_id == ticket_id, Event.action == action)
            .order_by(Event.id)))


async def complaint_count(desk: Desk) -> int:
    async with desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Complaint)) or 0)


async def outbox_keys(desk: Desk) -> list[str]:
    async with desk.sessions() as session:
        return list(await session.scalars(select(OutboxMessage.dedupe_key)
                                          .order_by(OutboxMessage.id)))


async def items(api: Api, path: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", path)
    assert status == 200, body
    found: list[dict[str, Any]] = body["items"]
    return found


async def test_an_agent_files_a_complaint_on_a_ticket(api: Api, clock: Clock) -> None:
    no = await phone_ticket(api)
    other = await phone_ticket(api, "13607710004", "电脑开不了机")
    now = clock()
    status, body = await file_complaint(api, no)
    assert status == 201, body
    assert re.fullmatch(r"TS\d{6}", body["complaint_no"]) and body["complaint_no"] == "TS000001"
    assert (body["ticket_no"], body["status"], body["source"], body["owner"]) == (
        no, "received", "agent", "投诉专员")
    assert body["summary"] == "工程师迟到两小时，态度也不好"
    assert moment(body["received_at"]) == now
    assert moment(body["investigate_due"]) == now + timedelta(hours=24)
    assert moment(body["remedy_due"]) == now + timedelta(hours=72)
    assert body["remedy"] is None and body["investigating_at"] is None
    # the ledger, whole and filtered
    assert [c["complaint_no"] for c in await items(api, "/api/v1/complaints")] == ["TS000001"]
    assert len(await items(api, "/api/v1/complaints?status=received")) == 1
    assert await items(api, "/api/v1/complaints?status=confirmed") == []
    assert len(await items(api, f"/api/v1/complaints?ticket_no={no}")) == 1
    assert await items(api, f"/api/v1/complaints?ticket_no={other}") == []
    status, bad = await api.call("GET", "/api/v1/complaints?status=closed")
    assert status == 400 and bad["error"]["code"] == "invalid_value"
    # the work order carries the flag, and the supervisor heard of it
    status, ticket = await api.call("GET", f"/api/v1/tickets/{no}")
    assert status == 200 and ticket["complaint"] is True
    assert (await order(api.desk, no)).complaint is True
    assert (await order(api.desk, other)).complaint is False
    assert f"supervisor:{no}:complaint:TS000001" in await outbox_keys(api.desk)
    assert len(await events(api.desk, no, "complaint_received")) == 1


async def test_filing_checks_its_input(api: Api) -> None:
    no = await phone_ticket(api)
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/complaints", json={})
    assert status == 400 and body["error"]["code"] == "missing_field"
    status, body = await file_complaint(api, no, severity="high")
    assert status == 400 and body["error"]["code"] == "unknown_field"
    status, body = await file_complaint(api, "XC-20261127-9999")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await file_complaint(api, no, owner="张专员")
    assert status == 201 and body["owner"] == "张专员"


async def test_the_ledger_life_of_a_complaint(api: Api, clock: Clock) -> None:
    no = await phone_ticket(api)
    _, filed = await file_complaint(api, no)
    number = filed["complaint_no"]
    status, body = await move(api, number, to="confirmed")  # received → confirmed: not a step
    assert status == 409 and body["error"]["code"] == "complaint_illegal"
    assert body["error"]["message"] == "投诉当前状态为“已受理”，不能转为“用户已确认”。"
    clock.advance(hours=2)
    status, body = await move(api, number, to="investigating", owner="李主管")
    assert status == 200, body
    assert (body["status"], body["owner"]) == ("investigating", "李主管")
    assert moment(body["investigating_at"]) == clock()
    status, body = await move(api, number, to="remedied")
    assert status == 400 and body["error"]["code"] == "remedy_missing"
    assert body["error"]["message"] == "办结投诉需要填写补救措施（remedy），用户会收到这段说明。"
    status, body = await move(api, number, to="remedied", remedy="   ")
    assert status == 400 and body["error"]["code"] == "remedy_missing"
    clock.advance(hours=1)
    status, body = await move(api, number, to="remedied", remedy="更换工程师，免费上门复检")
    assert status == 200, body
    assert (body["status"], body["remedy"]) == ("remedied", "更换工程师，免费上门复检")
    assert moment(body["remedied_at"]) == clock()
    # a hotline caller without SMS hears of the remedy by phone: a callback for an agent
    (call,) = await items(api, "/api/v1/tasks?kind=complaint_call")
    assert (call["role"], call["ticket_no"], call["phone"]) == ("agent", no, MOBILE)
    assert call["complaint_id"] == filed["id"]
    status, body = await move(api, number, to="confirmed", note="用户表示认可补救措施")
    assert status == 200, body
    assert (body["status"], body["user_response"]) == ("confirmed", "用户表示认可补救措施")
    assert moment(body["confirmed_at"]) == clock()
    assert [c["status"] for c in await items(api, "/api/v1/complaints")] == ["confirmed"]
    # nothing moves on from confirmed
    status, body = await move(api, number, to="investigating")
    assert status == 409 and body["error"]["code"] == "complaint_illegal"
    # the audit trail
    moved = await events(api.desk, no, "complaint_moved")
    assert [(e.old, e.new) for e in moved] == [
        ("received", "investigating"), ("investigating", "remedied"), ("remedied", "confirmed")]
    assert {e.field for e in moved} == {"complaint_status"}
    assert moved[0].data["owner"] == "李主管" and moved[2].data["note"] == "用户表示认可补救措施"


async def test_moving_refuses_unknown_complaints_and_fields(api: Api) -> None:
    no = await phone_ticket(api)
    _, filed = await file_complaint(api, no)
    for number in ("TS999999", "TS", "abc", "TS12345678901234", "TS999999999999", "TS²"):
        status, body = await move(api, number, to="investigating")
        assert status == 404 and body["error"]["code"] == "complaint_not_found", number
    status, body = await move(api, filed["complaint_no"], to="investigating", reason="x")
    assert status == 400 and body["error"]["code"] == "unknown_field"
    assert "reason" in body["error"]["message"]
    status, body = await move(api, filed["complaint_no"], to="closed")
    assert status == 400 and body["error"]["code"] == "invalid_value"
    status, body = await move(api, filed["complaint_no"])
    assert status == 400 and body["error"]["code"] == "missing_field"
    assert (await items(api, "/api/v1/complaints"))[0]["status"] == "received"
    assert await events(api.desk, no, "complaint_moved") == []


async def test_filing_twice_while_open_keeps_one_complaint(api: Api) -> None:
    no = await phone_ticket(api)
    _, first = await file_complaint(api, no)
    status, again = await api.call("POST", f"/api/v1/tickets/{no}/complaints",
                                   json={"summary": "用户再次来电，情绪激动"})
    assert status == 201 and again["complaint_no"] == first["complaint_no"] == "TS000001"
    assert again["summary"] == first["summary"]
    assert await complaint_count(api.desk) == 1
    (repeated,) = await events(api.desk, no, "complaint_repeated")
    assert repeated.data == {"complaint": first["id"], "source": "agent"}
    # once confirmed, a new complaint is a new row
    await move(api, "TS000001", to="investigating")
    await move(api, "TS000001", to="remedied", remedy="当面致歉")
    await move(api, "TS000001", to="confirmed")
    _, third = await file_complaint(api, no)
    assert third["complaint_no"] == "TS000002" and await complaint_count(api.desk) == 2


async def test_missed_complaint_deadlines_are_mailed_to_the_supervisor_once(
    api: Api, clock: Clock
) -> None:
    no = await phone_ticket(api)
    _, filed = await file_complaint(api, no)
    number = filed["complaint_no"]
    watcher = SlaWatcher(api.desk)

    async def overdue_mail() -> list[str]:
        prefix = f"supervisor:{no}:complaint:{number}:"
        return [k for k in await outbox_keys(api.desk) if k.startswith(prefix)]

    await asyncio.to_thread(watcher.run_once)
    assert await overdue_mail() == []
    clock.advance(hours=25)
    await asyncio.to_thread(watcher.run_once)
    assert await overdue_mail() == [f"supervisor:{no}:complaint:{number}:investigate"]
    async with api.desk.sessions() as session:
        mail = await session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"supervisor:{no}:complaint:{number}:investigate"))
    assert mail is not None and (mail.channel, mail.recipient, mail.kind) == (
        "email", SUPERVISOR, "supervisor")
    assert number in (mail.subject or "") and "投诉专员" in (mail.subject or "")
    await asyncio.to_thread(watcher.run_once)  # a second pass: nothing new
    assert len(await overdue_mail()) == 1
    clock.advance(hours=48)  # 73 h after filing
    await asyncio.to_thread(watcher.run_once)
    await asyncio.to_thread(watcher.run_once)
    assert await overdue_mail() == [f"supervisor:{no}:complaint:{number}:investigate",
                                    f"supervisor:{no}:complaint:{number}:remedy"]
    marks = [e.data["mark"] for e in await events(api.desk, no, "complaint_overdue")]
    assert marks == ["investigate", "remedy"]


async def test_investigating_in_time_leaves_only_the_remedy_deadline(
    api: Api, clock: Clock
) -> None:
    no = await phone_ticket(api)
    _, filed = await file_complaint(api, no)
    clock.advance(hours=3)
    await move(api, filed["complaint_no"], to="investigating")
    watcher = SlaWatcher(api.desk)
    clock.advance(hours=30)
    await asyncio.to_thread(watcher.run_once)
    assert await events(api.desk, no, "complaint_overdue") == []
    clock.advance(hours=40)  # 73 h after filing, still not remedied
    await asyncio.to_thread(watcher.run_once)
    assert [e.data["mark"] for e in await events(api.desk, no, "complaint_overdue")] == [
        "remedy"]


async def test_without_a_supervisor_address_overdue_is_recorded_not_mailed(
    api: Api, clock: Clock
) -> None:
    no = await phone_ticket(api)
    _, filed = await file_complaint(api, no)
    clock.advance(hours=25)
    await asyncio.to_thread(SlaWatcher(replace(api.desk, supervisor_email=None)).run_once)
    assert len(await events(api.desk, no, "complaint_overdue")) == 1
    assert not [k for k in await outbox_keys(api.desk) if k.endswith(":investigate")]


async def test_survey_callback_tasks_and_the_answer_taken_by_phone(api: Api) -> None:
    no = await phone_ticket(api)
    assert await items(api, "/api/v1/tasks") == []
    await walk_to_closed(api, no)
    (task,) = await items(api, "/api/v1/tasks")
    assert (task["kind"], task["role"], task["status"], task["ticket_no"], task["phone"]) == (
        "survey_call", "agent", "open", no, MOBILE)
    assert no in task["title"]
    assert await items(api, "/api/v1/tasks?role=supervisor") == []
    assert len(await items(api, "/api/v1/tasks?kind=survey_call&role=agent")) == 1
    for query in ("status=later", "kind=chat", "role=vendor"):
        status, body = await api.call("GET", f"/api/v1/tasks?{query}")
        assert status == 400 and body["error"]["code"] == "invalid_value", query

    status, body = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                                  json={"satisfaction": "dissatisfied", "comment": "等了太久"})
    assert status == 200, body
    assert body == {"ticket_no": no, "satisfaction": "dissatisfied", "comment": "等了太久"}
    status, ticket = await api.call("GET", f"/api/v1/tickets/{no}")
    assert status == 200
    assert (ticket["rated"], ticket["satisfaction"], ticket["follow_up_feedback"]) == (
        True, "dissatisfied", "等了太久")
    # the callback is done (by this answer); the supervisor now has a follow-up to make
    (done,) = await items(api, "/api/v1/tasks?status=done")
    assert (done["id"], done["kind"], done["note"]) == (task["id"], "survey_call", "不满意")
    (follow_up,) = await items(api, "/api/v1/tasks")
    assert (follow_up["kind"], follow_up["role"], follow_up["phone"]) == (
        "follow_up", "supervisor", MOBILE)
    assert len(await items(api, "/api/v1/tasks?status=all")) == 2
    assert await complaint_count(api.desk) == 0  # dissatisfied, not very: no complaint

    status, body = await api.call("POST", f"/api/v1/tasks/{follow_up['id']}/done",
                                  who="supervisor", json={"note": "已回访"})
    assert status == 200, body
    assert (body["status"], body["note"]) == ("done", "已回访") and body["done_at"]
    status, body = await api.call("POST", f"/api/v1/tasks/{follow_up['id']}/done",
                                  json={"note": "已回访"})
    assert status == 404 and body["error"]["code"] == "task_not_found"
    for raw in ("abc", "99999", "999999999999", "%C2%B2"):
        status, body = await api.call("POST", f"/api/v1/tasks/{raw}/done", json={})
        assert status == 404 and body["error"]["code"] == "task_not_found"
    assert await items(api, "/api/v1/tasks") == []
    assert len(await events(api.desk, no, "task_done")) == 1

    status, body = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                                  json={"satisfaction": "satisfied"})
    assert status == 409 and body["error"]["code"] == "no_survey"
    assert body["error"]["message"] == f"工单 {no} 的满意度调查已有回答。"


async def test_answering_a_survey_that_is_not_there(api: Api) -> None:
    no = await phone_ticket(api)  # still open: no survey yet
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                                  json={"satisfaction": "satisfied"})
    assert status == 409 and body["error"]["code"] == "no_survey"
    assert body["error"]["message"] == f"工单 {no} 没有满意度调查。"
    status, body = await api.call("POST", "/api/v1/tickets/XC-20261127-9999/survey",
                                  json={"satisfaction": "satisfied"})
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                                  json={"satisfaction": "great"})
    assert status == 400 and body["error"]["code"] == "invalid_value"
    status, body = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                                  json={"satisfaction": "satisfied", "stars": 5})
    assert status == 400 and body["error"]["code"] == "unknown_field"


async def test_very_dissatisfied_by_phone_files_a_complaint(api: Api) -> None:
    no = await phone_ticket(api)
    await walk_to_closed(api, no)
    status, _ = await api.call("POST", f"/api/v1/tickets/{no}/survey",
                               json={"satisfaction": "very_dissatisfied", "comment": "问题没解决"})
    assert status == 200
    (complaint,) = await items(api, f"/api/v1/complaints?ticket_no={no}")
    assert (complaint["source"], complaint["status"]) == ("survey", "received")
    assert complaint["summary"] == "满意度评价：非常不满意。问题没解决"
    assert (await order(api.desk, no)).complaint is True
    assert [t["kind"] for t in await items(api, "/api/v1/tasks")] == ["follow_up"]


async def test_vendors_may_not_use_the_care_routes(api: Api) -> None:
    no = await phone_ticket(api)
    await walk_to_closed(api, no)
    _, filed = await file_complaint(api, no)
    (task,) = await items(api, "/api/v1/tasks")
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/complaints", None),
        ("POST", f"/api/v1/tickets/{no}/complaints", {"summary": "厂商自己投诉"}),
        ("POST", f"/api/v1/complaints/{filed['complaint_no']}/transitions",
         {"to": "investigating"}),
        ("GET", "/api/v1/tasks", None),
        ("POST", f"/api/v1/tasks/{task['id']}/done", {"note": "x"}),
        ("POST", f"/api/v1/tickets/{no}/survey", {"satisfaction": "very_satisfied"}),
    ]
    for method, path, body in calls:
        status, answer = await api.call(method, path, who="vendor_a", json=body)
        assert status == 403 and answer["error"]["code"] == "forbidden", path
        status, _ = await api.call(method, path, who=None, json=body)
        assert status == 401, path
    # nothing changed
    assert (await items(api, "/api/v1/complaints"))[0]["status"] == "received"
    assert [t["status"] for t in await items(api, "/api/v1/tasks")] == ["open"]
    assert (await order(api.desk, no)).rated is False
