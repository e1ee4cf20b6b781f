"""People correct triage through the API; corrections are audited and exported for retraining."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from tests.server.conftest import Api
from ticketing.corrections import export_corrections
from ticketing.orm import Event, TriageCorrection


async def test_correction_is_applied_kept_and_exported(api: Api) -> None:
    status, ticket = await api.call(
        "POST", "/api/v1/tickets", json={"description": "横县财政局的打印机卡纸了",
                                         "site_district": "横县"},
    )
    assert status == 201
    no = ticket["ticket_no"]
    status, body = await api.call(
        "PATCH", f"/api/v1/tickets/{no}", json={"level": "P2", "complaint": True}
    )
    assert status == 200, body
    assert (body["level"], body["complaint"], body["needs_review"]) == ("P2", True, False)
    # the same values again change nothing and record nothing
    await api.call("PATCH", f"/api/v1/tickets/{no}", json={"level": "P2"})
    async with api.desk.sessions() as session:
        rows = (await session.scalars(select(TriageCorrection))).all()
        events = (
            await session.scalars(select(Event).where(Event.action == "triage_corrected"))
        ).all()
    assert sorted((r.field, r.new) for r in rows) == [("complaint", "True"), ("level", "P2")]
    assert len(events) == 2 and all(e.actor == "agent:test" for e in events)
    out = io.StringIO()
    async with api.desk.sessions() as session:
        count = await export_corrections(session, out, api.desk)
    assert count == 1
    line = json.loads(out.getvalue())
    assert line == {
        "text": "横县财政局的打印机卡纸了",
        "channel": "web",
        "level": "P2",
        "category": ticket["product_category"],
        "complaint": True,
        "brand": ticket["product_brand"],
        "model": ticket["product_model"],
        "location": "横州市",
    }


async def test_bad_corrections_are_refused(api: Api) -> None:
    _, ticket = await api.call("POST", "/api/v1/tickets", json={"description": "电脑蓝屏"})
    path = f"/api/v1/tickets/{ticket['ticket_no']}"
    for body, code in (
        ({"level": "P9"}, "invalid_value"),
        ({"complaint": "yes"}, "invalid_value"),
        ({"status": "closed"}, "unknown_field"),
    ):
        status, answer = await api.call("PATCH", path, json=body)
        assert (status, answer["error"]["code"]) == (400, code)
    status, _ = await api.call("PATCH", path, "vendor_a", json={"level": "P1"})
    assert status == 403
    _, after = await api.call("GET", path)
    assert after["level"] == ticket["level"]


async def test_marking_a_ticket_a_complaint_enters_it_in_the_ledger(api: Api) -> None:
    status, ticket = await api.call("POST", "/api/v1/tickets", json={
        "description": "工程师说好上午来，到现在也没人", "complaint": False})
    assert status == 201
    no = ticket["ticket_no"]
    assert (await api.call("GET", f"/api/v1/complaints?ticket_no={no}"))[1]["items"] == []
    status, _ = await api.call("PATCH", f"/api/v1/tickets/{no}", json={"complaint": True})
    assert status == 200
    (entry,) = (await api.call("GET", f"/api/v1/complaints?ticket_no={no}"))[1]["items"]
    assert (entry["status"], entry["source"]) == ("received", "agent")
    # marking it again adds no second complaint
    await api.call("PATCH", f"/api/v1/tickets/{no}", json={"complaint": False})
    await api.call("PATCH", f"/api/v1/tickets/{no}", json={"complaint": True})
    assert len((await api.call("GET", f"/api/v1/complaints?ticket_no={no}"))[1]["items"]) == 1


async def test_a_report_the_classifier_flags_enters_the_ledger(api: Api) -> None:
    text = "服务态度太差了，多次催促都没人处理，要求给个说法"
    assert api.desk.classifier.triage(text).complaint  # the premise of this test
    status, ticket = await api.call("POST", "/api/v1/tickets", json={"description": text})
    assert status == 201 and ticket["complaint"] is True
    status, body = await api.call("GET", f"/api/v1/complaints?ticket_no={ticket['ticket_no']}")
    (entry,) = body["items"]
    assert (entry["status"], entry["source"], entry["summary"]) == ("received", "classifier", text)


async def test_a_person_saying_it_is_no_complaint_is_believed(api: Api) -> None:
    status, ticket = await api.call("POST", "/api/v1/tickets", json={
        "description": "用户咨询如何投诉渠道的电话号码", "complaint": False})
    assert status == 201 and ticket["complaint"] is False
    status, body = await api.call("GET", f"/api/v1/complaints?ticket_no={ticket['ticket_no']}")
    assert body["items"] == []
