"""Care reminders on a real database: the free service period ending within 30 days, tips per
product category, and at most one care message per contact and week (both kinds counted).

The clock starts on 2026-11-27 at 09:00 in Guangxi. A terminal (hardware, 3 free years) sold
on 2023-12-17 is served free until 2026-12-17: 20 days ahead.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.settings import BUILTIN_CONFIG_DIR
from tests.conftest import Clock
from ticketing.care_reminders import CareTips, load_tips, send_care
from ticketing.desk import Desk
from ticketing.orm import (
    CareMessage,
    Contact,
    Contract,
    Organisation,
    OutboxMessage,
    Vendor,
    WorkOrder,
)

TIPS = load_tips(BUILTIN_CONFIG_DIR / "care_tips.toml")
IN_20_DAYS = date(2023, 12, 17)  # terminal sold then: free until 2026-12-17
_serial = itertools.count(1)


# --- rows, written with Core on the desk's writer ------------------------------------------


def _insert(desk: Desk, table: Any, **values: Any) -> int:
    with desk.writer.begin() as conn:
        return int(conn.execute(table.__table__.insert().returning(table.__table__.c.id),
                                values).scalar_one())


def organisation(desk: Desk, name: str) -> int:
    return _insert(desk, Organisation, name=name, created_at=desk.clock())


def contact(desk: Desk, org_id: int | None, *, name: str = "韦工", **ids: Any) -> int:
    return _insert(desk, Contact, organisation_id=org_id, name=name, created_at=desk.clock(),
                   **ids)


def contract(desk: Desk, org_id: int, category: str, sale_date: date, *, brand: str = "",
             model: str = "") -> int:
    seller = f"销售公司{next(_serial)}"
    seller_id = _insert(desk, Vendor, name=seller, created_at=desk.clock())
    return _insert(desk, Contract, organisation_id=org_id, product_category=category,
                   product_brand=brand, product_model=model, seller_id=seller_id,
                   sale_date=sale_date, related_party_ids=[], created_at=desk.clock())


def ticket(desk: Desk, contact_id: int, category: str, channel_detail: str,
           reported_at: datetime | None = None) -> str:
    at = reported_at or desk.clock() - timedelta(days=60)
    no = f"XC20260927{next(_serial):04d}"
    channel = {"wechat": "online", "api": "online", "email": "email", "phone": "phone"}
    _insert(desk, WorkOrder, ticket_no=no, status="closed", channel=channel[channel_detail],
            channel_detail=channel_detail, reported_at=at, created_at=at, updated_at=at,
            product_category=category, level="P3", description="问题", respond_due=at,
            arrive_due=at, resolve_due=at, contact_id=contact_id)
    return no


# --- what came out ---------------------------------------------------------------------------


def run(desk: Desk, tips: CareTips = TIPS, **kwargs: Any) -> int:
    with desk.writer.begin() as conn:
        return send_care(desk, conn, tips, desk.clock(), **kwargs)


def care_outbox(desk: Desk) -> list[Any]:
    table = OutboxMessage.__table__
    with desk.writer.connect() as conn:
        return list(conn.execute(select(table).where(table.c.kind == "care")
                                 .order_by(table.c.id)))


def care_rows(desk: Desk) -> list[Any]:
    table = CareMessage.__table__
    with desk.writer.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


# --- the free service period -----------------------------------------------------------------


async def test_period_ending_in_20_days_tells_the_units_contacts(desk: Desk) -> None:
    unit = organisation(desk, "南宁市某局")
    other = organisation(desk, "柳州市某局")
    sold = contract(desk, unit, "terminal", IN_20_DAYS, brand="华为", model="擎云W515")
    on_wechat = contact(desk, unit, wechat_openid="o-wei", email="wei@nn.gov.cn")
    on_email = contact(desk, unit, name="黄工", email="huang@nn.gov.cn")
    no = ticket(desk, on_email, "terminal", "email")
    contact(desk, other, wechat_openid="o-liu")  # another unit, no contract: nothing

    assert run(desk) == 2
    wechat, email = care_outbox(desk)
    assert (wechat.channel, wechat.recipient) == ("wechat", "o-wei")
    assert "华为 擎云W515 计算机终端" in wechat.body and "2026-12-17" in wechat.body
    assert "工单" not in wechat.body  # no ticket of theirs to cite
    assert wechat.dedupe_key.startswith("care_period:") and wechat.work_order_id is None
    assert (email.channel, email.recipient) == ("email", "huang@nn.gov.cn")
    assert email.subject == f"[{no}] 免费服务期即将到期"
    assert no in email.body and "2026-12-17" in email.body and "黄工" in email.body
    assert email.payload["step"] == "care_period"
    rows = care_rows(desk)
    assert {(r.contact_id, r.topic, r.kind) for r in rows} == {
        (on_wechat, f"period:{sold}", "care_period"), (on_email, f"period:{sold}", "care_period")}


async def test_the_latest_ticket_decides_the_channel(desk: Desk, clock: Clock) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "os", date(2025, 12, 17))  # software: 1 free year, until 2026-12-17
    person = contact(desk, unit, wechat_openid="o-wei", email="wei@nn.gov.cn")
    ticket(desk, person, "os", "wechat", clock.now - timedelta(days=90))
    latest = ticket(desk, person, "os", "email", clock.now - timedelta(days=30))
    assert run(desk) == 1
    (message,) = care_outbox(desk)
    assert (message.channel, message.recipient) == ("email", "wei@nn.gov.cn")
    assert latest in message.body and "操作系统" in message.body


@pytest.mark.parametrize(
    ("sale_date", "told"),
    [
        (date(2023, 11, 27), True),  # free until today: still told
        (date(2023, 12, 27), True),  # free until today + 30
        (date(2023, 12, 28), False),  # today + 31
        (date(2024, 1, 6), False),  # in 40 days
        (date(2023, 11, 26), False),  # ended yesterday
    ],
)
async def test_only_periods_ending_within_30_days(desk: Desk, sale_date: date,
                                                   told: bool) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", sale_date)
    contact(desk, unit, wechat_openid="o-wei")
    assert run(desk) == 1  # a tip when there is no period to tell of
    (message,) = care_outbox(desk)
    assert message.dedupe_key.startswith("care_period:" if told else "care_tip:")


# --- one a week, the period first ------------------------------------------------------------


async def test_one_a_week_then_a_tip_not_the_period_again(desk: Desk, clock: Clock) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    contact(desk, unit, wechat_openid="o-wei")
    assert run(desk) == 1
    clock.advance(hours=2)
    assert run(desk) == 0  # the same day: capped
    clock.advance(days=6)
    assert run(desk) == 0  # still within the week
    clock.advance(days=1)
    assert run(desk) == 1
    period, tip = care_outbox(desk)
    assert period.dedupe_key.startswith("care_period:")
    assert tip.dedupe_key.startswith("care_tip:")
    assert "计算机终端保养小贴士" in tip.body and TIPS.tips("terminal")[0] in tip.body
    assert [r.kind for r in care_rows(desk)] == ["care_period", "care_tip"]


async def test_the_cap_counts_both_kinds_and_the_period_goes_first(
    desk: Desk, clock: Clock
) -> None:
    unit = organisation(desk, "南宁市某局")
    person = contact(desk, unit, email="wei@nn.gov.cn")
    ticket(desk, person, "peripheral", "email")
    assert run(desk) == 1  # a printer tip
    clock.advance(days=1)
    contract(desk, unit, "server", date(2023, 12, 10))  # free until 2026-12-10, 12 days ahead
    assert run(desk) == 0  # a tip went out yesterday
    clock.advance(days=6)
    assert run(desk) == 1
    tip, period = care_outbox(desk)
    assert tip.dedupe_key.startswith("care_tip:") and "外设" in tip.body
    assert period.dedupe_key.startswith("care_period:") and "服务器与存储" in period.body
    assert "2026-12-10" in period.body


# --- who is not told -------------------------------------------------------------------------


async def test_unreachable_contacts_get_nothing_and_nothing_is_recorded(desk: Desk) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    gone = datetime(2026, 10, 1, tzinfo=UTC)
    contact(desk, unit, wechat_openid="o-left", unsubscribed_at=gone)  # unfollowed
    bouncing = contact(desk, unit, email="old@nn.gov.cn", email_undeliverable_at=gone)
    ticket(desk, bouncing, "terminal", "email")
    caller = contact(desk, unit, phone="13800771234")
    ticket(desk, caller, "terminal", "phone")  # hotline, no SMS adapter
    contact(desk, unit, phone="13800775678")  # no ticket, no openid, no e-mail
    assert run(desk) == 0
    assert care_outbox(desk) == [] and care_rows(desk) == []


async def test_a_hotline_caller_gets_sms_when_it_is_configured(desk: Desk) -> None:
    desk = replace(desk, sms_enabled=True)
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    caller = contact(desk, unit, phone="13800771234")
    no = ticket(desk, caller, "terminal", "phone")
    assert run(desk) == 1
    (sms,) = care_outbox(desk)
    assert (sms.channel, sms.recipient) == ("sms", "13800771234")
    assert sms.body.startswith("【信创服务】") and no in sms.body and "2026-12-17" in sms.body


async def test_nothing_at_night(desk: Desk, clock: Clock) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    contact(desk, unit, wechat_openid="o-wei")
    clock.advance(hours=14)  # 23:00 in Guangxi
    assert run(desk) == 0
    clock.advance(hours=10)  # 09:00 the next day
    assert run(desk) == 1


# --- tips ------------------------------------------------------------------------------------


async def test_tips_rotate_and_cycle(desk: Desk, clock: Clock) -> None:
    tips = CareTips({"peripheral": ("打印机请用原装耗材。", "卡纸时先关机再取纸。")})
    person = contact(desk, None, wechat_openid="o-wei")  # no unit: their own tickets count
    ticket(desk, person, "peripheral", "wechat")
    assert run(desk, tips) == 1
    clock.advance(days=7)
    assert run(desk, tips) == 0  # one category: a tip at most every 30 days
    clock.advance(days=23)
    assert run(desk, tips) == 1
    clock.advance(days=30)
    assert run(desk, tips) == 1  # all sent: the cycle starts again
    bodies = [m.body for m in care_outbox(desk)]
    assert ["原装耗材" in b for b in bodies] == [True, False, True]
    assert "卡纸时先关机" in bodies[1]
    assert len({m.dedupe_key for m in care_outbox(desk)}) == 3
    rows = care_rows(desk)
    assert [r.topic for r in rows] == ["tip:peripheral:0", "tip:peripheral:1"]
    assert rows[0].sent_at == clock.now  # the repeat moved it


async def test_several_categories_take_turns_week_by_week(desk: Desk, clock: Clock) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "database", date(2024, 3, 1))
    contract(desk, unit, "terminal", date(2024, 3, 1))
    contact(desk, unit, email="wei@nn.gov.cn")
    assert run(desk) == 1  # terminal first: the file's order
    clock.advance(days=7)
    assert run(desk) == 1  # then the database
    clock.advance(days=7)
    assert run(desk) == 0  # each category had its tip within 30 days
    clock.advance(days=16)
    assert run(desk) == 1  # 30 days after the first: the terminal's next tip
    bodies = [m.body for m in care_outbox(desk)]
    assert "计算机终端保养小贴士" in bodies[0] and TIPS.tips("terminal")[0] in bodies[0]
    assert "数据库保养小贴士" in bodies[1] and TIPS.tips("database")[0] in bodies[1]
    assert TIPS.tips("terminal")[1] in bodies[2]
    assert [r.topic for r in care_rows(desk)] == [
        "tip:terminal:0", "tip:database:0", "tip:terminal:1"]


async def test_a_pass_queues_at_most_the_limit(desk: Desk) -> None:
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    for n in range(3):
        contact(desk, unit, wechat_openid=f"o-{n}")
    assert run(desk, limit=2) == 2
    assert run(desk, limit=2) == 1
    assert run(desk, limit=2) == 0
    assert len(care_outbox(desk)) == 3


# --- the tips file ---------------------------------------------------------------------------


def test_the_shipped_tips_cover_every_product_category() -> None:
    with (BUILTIN_CONFIG_DIR / "vocabulary.toml").open("rb") as fh:
        categories = tomllib.load(fh)["product_category"]
    assert set(TIPS.categories) == set(categories)
    for category in categories:
        assert 2 <= len(TIPS.tips(category)) <= 4
        assert all(len(tip) <= 60 for tip in TIPS.tips(category))


def test_a_broken_tips_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tips.toml"
    path.write_text('terminal = ["' + "很" * 61 + '"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="longer than 60"):
        load_tips(path)
    path.write_text("terminal = []\n", encoding="utf-8")
    with pytest.raises(ValueError, match="non-empty"):
        load_tips(path)


async def test_the_sla_watcher_sends_care_in_its_pass(desk: Desk) -> None:
    from ticketing.sla_watch import SlaWatcher

    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    contact(desk, unit, wechat_openid="o-wei")
    SlaWatcher(desk).run_once()  # no tips given: deadlines only
    assert care_outbox(desk) == []
    SlaWatcher(desk, care_tips=TIPS).run_once()
    SlaWatcher(desk, care_tips=TIPS).run_once()
    (sent,) = care_outbox(desk)
    assert sent.payload["step"] == "care_period" and sent.recipient == "o-wei"


async def test_the_watcher_looks_for_care_every_ten_minutes(desk: Desk, clock: Clock) -> None:
    from ticketing.sla_watch import SlaWatcher

    watcher = SlaWatcher(desk, care_tips=TIPS)
    watcher.run_once()  # nobody to care for yet
    unit = organisation(desk, "南宁市某局")
    contract(desk, unit, "terminal", IN_20_DAYS)
    contact(desk, unit, wechat_openid="o-wei")
    clock.advance(minutes=9)
    watcher.run_once()
    assert care_outbox(desk) == []
    clock.advance(minutes=1)
    watcher.run_once()
    assert len(care_outbox(desk)) == 1
