"""The ledger export: every field id, Chinese headers, BOM, --since."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from ticketing import intake
from ticketing.desk import Desk
from ticketing.ledger import export
from ticketing.model import Inbound, Sender
from ticketing.queries import FIELD_IDS

STANDARD_FIELDS = [  # the work-order reference, section 五 of the standard
    "org_name", "contact_name", "contact_phone", "channel", "reported_at", "accepted_at",
    "created_at", "handling_mode", "responded_at", "arrived_at", "completed_at",
    "product_category", "product_brand", "product_model", "solution", "closed_at", "rated",
    "satisfaction", "follow_up_feedback",
]
PROCESS_FIELDS = [
    "ticket_no", "status", "level", "complaint", "description", "site_district", "same_city",
    "respond_due", "arrive_due", "resolve_due", "primary_vendor", "secondary_vendors",
    "responsibility_basis", "escalation_tier", "sale_date", "in_free_period",
]


async def seed(desk: Desk) -> None:
    for i, (day, text) in enumerate(
        [(26, "奔图M6202打印机卡纸"), (27, "统信UOS 1070 登录不了, 急用"), (27, "WPS怎么设置字体")]
    ):
        await intake.receive(
            desk,
            Inbound(
                channel_detail="phone" if i == 1 else "wechat",
                external_id=str(i),
                received_at=datetime(2026, 11, day, 2, 0, tzinfo=UTC),
                accepted_at=datetime(2026, 11, day, 2, 0, 20, tzinfo=UTC) if i == 1 else None,
                text=text,
                sender=Sender(phone=f"1380000000{i}", name="张三", org_name="某局"),
            ),
        )


def test_every_field_id_is_exported() -> None:
    assert set(STANDARD_FIELDS + PROCESS_FIELDS) <= set(FIELD_IDS)


async def test_jsonl_keeps_ids_and_iso_times(desk: Desk) -> None:
    await seed(desk)
    out = io.StringIO()
    async with desk.sessions() as session:
        count = await export(session, out, "jsonl", desk.vocabulary, desk.zone)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(rows) == 3
    assert list(rows[0]) == list(FIELD_IDS)
    phone = rows[1]
    assert phone["channel"] == "phone"
    assert phone["reported_at"] == "2026-11-27T02:00:00+00:00"
    assert phone["accepted_at"] == "2026-11-27T02:00:20+00:00"
    assert phone["product_brand"] == "统信UOS"


async def test_csv_has_bom_chinese_headers_and_labels(desk: Desk) -> None:
    await seed(desk)
    out = io.StringIO()
    async with desk.sessions() as session:
        await export(session, out, "csv", desk.vocabulary, desk.zone)
    text = out.getvalue()
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header = table[0]
    assert header[:5] == ["工单编号", "工单状态", "建设单位名称", "客户联系人", "联系电话"]
    assert len(header) == len(FIELD_IDS)
    assert "客户满意度" in header and "用户回访建议" in header and "问题闭环时间" in header
    row = dict(zip(header, table[2], strict=True))
    assert row["问题反馈渠道"] == "电话"
    assert row["用户反馈时间"] == "2026-11-27 10:00:00"  # local time
    assert row["反馈受理时间"] == "2026-11-27 10:00:20"
    assert row["工单状态"] == "已接收"
    assert row["用户是否点评"] == "否"


async def test_since_limits_by_report_time(desk: Desk) -> None:
    await seed(desk)
    out = io.StringIO()
    since = datetime(2026, 11, 27, 0, 0, tzinfo=desk.zone)
    async with desk.sessions() as session:
        count = await export(session, out, "jsonl", desk.vocabulary, desk.zone, since)
    assert count == 2
