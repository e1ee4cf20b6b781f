"""Intake throughput: tickets created per second through `ticketing.intake`, beside a bare insert.

Run: `.venv/bin/python -m bench.intake [--backend sqlite|postgresql|both] [--rounds 3] ...`
(`--help` lists the options). Defaults fit in about two minutes on 2 cores: an intake
measurement is 250 tickets and a baseline one, being several times faster, 600 rows (6000 for
the batched baseline).

What is measured
----------------
For each backend (a SQLite file; PostgreSQL) and each way of calling intake, the rate at which new
tickets are committed, next to the rate at which the *same engine* (the sync writer engine, from
worker threads, as intake uses it) commits a bare `work_orders`
row with the column values a real ticket gets, called the same way:

    variant          ours                                        bare (the baseline)
    sequential       `intake.receive`, one message at a time      one Core INSERT per transaction
    concurrent(C)    `intake.receive`, C tasks at once            the same INSERT, C tasks at once
    batched(B)       `intake.receive_many`, B messages per call   B rows per txn (executemany)
    group(C)         C tasks through `GroupCommitter` (the server  the same INSERT, C tasks at once
                     path: one transaction per queued batch)

The ratio ours / bare is what our logic costs: storing the raw message, registering the sender,
triage, the ticket counter, the audit event, the conversation and the acknowledgement in the
outbox.
1.0 would be free. A noisy machine moves absolute rates, so the ratio is taken per round between
the two measurements made back to back, and the median over the rounds is reported.

Method
------
Every measurement runs on an empty, migrated database (SQLite: a fresh file copied from a
template migrated once; PostgreSQL: a database created for this run, truncated before each
measurement) through a fresh engine from `ticketing.db.create_engine`, built as the server builds
it, and a `Desk` from `server.runtime.build_desk`. One untimed warm-up batch first fills the pool
and the engine's statement cache. Only the calls are timed: building the messages, and for the
baseline the rows, is not, so triage counts on our side only, as it should. The baseline has no
contact row, so its `contact_id` is NULL; everything else matches what intake would write.

After each measurement the database is checked (work orders and distinct ticket numbers equal
what was sent; for intake also the raw messages and queued acknowledgements) and every intake
result must be "created", so a failing path cannot pass for a fast one. Failures are printed with
their traceback, shown as FAILED in the table, and make the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import asyncpg
import sqlalchemy
from sqlalchemy import Engine, distinct, func, insert, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.runtime import build_desk
from server.settings import Settings, load_settings
from ticketing import intake
from ticketing.db import Database, create_engine
from ticketing.desk import Desk
from ticketing.group_commit import GroupCommitter
from ticketing.migrate import upgrade
from ticketing.model import Inbound, IntakeResult, Sender
from ticketing.numbering import format_ticket_no
from ticketing.orm import Base, InboundMessage, OutboxMessage, WorkOrder

Mode = Literal["sequential", "concurrent", "batched", "group"]
Side = Literal["bare", "ours"]
MODES: tuple[Mode, ...] = ("sequential", "concurrent", "batched", "group")
T = TypeVar("T")
Outcome = Any  # one call's result, or the exception it raised

DEFAULT_PG_URL = os.environ.get(
    "XCDESK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# WeChat-style reports as users type them: units, districts, brands, urgency, one complaint.
TEXTS: tuple[str, ...] = (
    "您好，我们青秀区办公室的奔图打印机一直卡纸，打印任务排着队打不出来，麻烦尽快派人看看。",
    "财务科的电脑今天早上一开机就蓝屏，重启好几次都不行，下午要报账，急用，请帮忙处理！",
    "OA系统登录不上，提示用户名或密码错误，密码没改过，整个科室都进不去。",
    "兴宁区分局机房的服务器宕机了，业务系统全部访问不了，非常紧急！！",
    "WPS打开文档一直提示需要激活，没法编辑，能远程帮忙看一下吗",
    "达梦数据库连接报错，应用日志里显示连接超时，影响审批业务办理。",
    "电脑好像中了勒索病毒，文件后缀都被改了，已经拔了网线，请尽快来人。",
    "麒麟系统升级以后输入法用不了，打不了中文，领导的材料等着要。",
    "马山县政务服务中心的扫描仪连不上电脑，驱动装了还是识别不到设备。",
    "上周报的问题到现在都没人处理，已经三天了，我要投诉！打印机还是坏的。",
    "东方通中间件启动失败，日志说端口被占用，应用部署不上去。",
    "网络特别慢，网页打开要一分钟，视频会议卡得厉害，整栋办公楼都这样。",
)
WECHAT_XML = (
    "<xml><ToUserName><![CDATA[gh_3f5e2a8c9d01]]></ToUserName>"
    "<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{ts}</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)


class BenchFailure(Exception):
    """A measurement that did not do what it claims; str(self) holds the details."""


# ---------------------------------------------------------------------------------------------
# inputs


def make_inbounds(count: int, tag: str) -> list[Inbound]:
    """`count` WeChat text messages from distinct users (each becomes a new contact)."""
    now = datetime.now(UTC)
    base = int(uuid.uuid4().int % 10**15) * 10**4  # MsgIds are 64-bit integers
    inbounds = []
    for i in range(count):
        openid = f"o{tag}{i:07d}".ljust(28, "x")
        msg_id = str(base + i)
        body = TEXTS[i % len(TEXTS)]
        raw = WECHAT_XML.format(openid=openid, ts=int(now.timestamp()), text=body, msg_id=msg_id)
        inbounds.append(
            Inbound(
                channel_detail="wechat",
                external_id=msg_id,
                received_at=now,
                text=body,
                sender=Sender(wechat_openid=openid),
                raw=raw.encode(),
            )
        )
    return inbounds


def bare_row(desk: Desk, inbound: Inbound, number: int) -> dict[str, Any]:
    """The `work_orders` values intake would write for `inbound` (no contact row: NULL)."""
    now = desk.clock()
    day = now.astimezone(desk.zone).strftime("%Y%m%d")
    return intake.work_order_values(
        desk,
        inbound,
        desk.classifier.triage(inbound.text),
        ticket_no=format_ticket_no(desk.prefix, day, number),
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# the calls being timed


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


async def sequentially(fn: Callable[[T], Awaitable[Any]], items: Sequence[T]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for item in items:
        try:
            outcomes.append(await fn(item))
        except Exception as exc:  # collected and reported, never hidden
            outcomes.append(exc)
    return outcomes


async def concurrently(
    fn: Callable[[T], Awaitable[Any]], items: Sequence[T], limit: int
) -> list[Outcome]:
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> Any:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(one(i) for i in items), return_exceptions=True))


def _insert_rows(writer: Engine, rows: Sequence[dict[str, Any]]) -> int:
    with writer.begin() as conn:
        conn.execute(insert(WorkOrder.__table__), list(rows) if len(rows) > 1 else rows[0])
    return len(rows)


async def insert_rows(writer: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """One transaction: a single-row INSERT, or an executemany of several rows, through the
    same sync writer engine and worker threads that intake uses."""
    return await asyncio.to_thread(_insert_rows, writer, rows)


async def call_bare(
    writer: Engine, rows: list[dict[str, Any]], mode: Mode, opts: Options
) -> list[Outcome]:
    one_each = [[row] for row in rows]
    if mode == "sequential":
        return await sequentially(lambda r: insert_rows(writer, r), one_each)
    if mode in ("concurrent", "group"):
        return await concurrently(lambda r: insert_rows(writer, r), one_each, opts.concurrency)
    return await sequentially(lambda r: insert_rows(writer, r), chunks(rows, opts.batch))


async def call_ours(
    desk: Desk, inbounds: list[Inbound], mode: Mode, opts: Options
) -> list[Outcome]:
    if mode == "sequential":
        return await sequentially(lambda i: intake.receive(desk, i), inbounds)
    if mode == "concurrent":
        return await concurrently(lambda i: intake.receive(desk, i), inbounds, opts.concurrency)
    if mode == "group":  # what the server does: concurrent callers through the group committer
        committer = GroupCommitter(desk, max_batch=opts.batch)
        await committer.start()
        try:
            return await concurrently(committer.receive, inbounds, opts.concurrency)
        finally:
            await committer.stop()
    outcomes: list[Outcome] = []
    for batch in await sequentially(
        lambda b: intake.receive_many(desk, list(b)), chunks(inbounds, opts.batch)
    ):
        outcomes.extend(batch if isinstance(batch, list) else [batch])
    return outcomes


# ---------------------------------------------------------------------------------------------
# checks


def describe_errors(outcomes: Sequence[Outcome], side: Side) -> str | None:
    """None when every call succeeded; else counts per error and the first traceback of each."""
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    wrong = [o for o in outcomes if isinstance(o, IntakeResult) and o.outcome != "created"]
    if side == "ours":
        wrong += [o for o in outcomes if not isinstance(o, BaseException | IntakeResult)]
    if not errors and not wrong:
        return None
    lines = [f"{len(errors)} of {len(outcomes)} calls raised, {len(wrong)} did not create"]
    kinds = Counter(f"{type(e).__module__}.{type(e).__qualname__}: {e}"[:300] for e in errors)
    seen: set[type] = set()
    for kind, times in kinds.most_common():
        lines.append(f"  {times} x {kind}")
    for exc in errors:
        if type(exc) not in seen:
            seen.add(type(exc))
            lines.append("".join(traceback.format_exception(exc)).rstrip())
    if wrong:
        lines.append(f"  first unexpected result: {wrong[0]!r}")
    return "\n".join(lines)


async def count(engine: AsyncEngine, *columns: Any) -> tuple[int, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(*columns))).one()
    return tuple(int(v) for v in row)


async def verify(engine: AsyncEngine, expected: int, side: Side) -> None:
    """The database holds exactly `expected` tickets with unique numbers (and their messages)."""
    orders, numbers = await count(
        engine, func.count(WorkOrder.id), func.count(distinct(WorkOrder.ticket_no))
    )
    problems = []
    if orders != expected:
        problems.append(f"{orders} work orders, expected {expected}")
    if numbers != orders:
        problems.append(f"{numbers} distinct ticket numbers for {orders} work orders")
    if side == "ours":
        (raw,) = await count(engine, func.count(InboundMessage.id))
        (acks,) = await count(engine, func.count(OutboxMessage.id))
        if raw != expected:
            problems.append(f"{raw} raw messages, expected {expected}")
        if acks != expected:
            problems.append(f"{acks} acknowledgements queued, expected {expected}")
    if problems:
        raise BenchFailure("database check failed: " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------
# backends


class Backend(Protocol):
    name: str
    server_version: str

    async def fresh_url(self) -> str:
        """A plain URL of an empty, migrated database."""
        ...

    async def close(self) -> None: ...


async def migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class SqliteBackend:
    """A migrated template file, copied to a new file for every measurement."""

    name = "sqlite"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="xcdesk-bench-"))
        self.template = self.dir / "template.db"
        self.runs = 0
        self.server_version = ""

    async def open(self) -> SqliteBackend:
        await migrate(f"sqlite:///{self.template}")
        engine = create_engine(f"sqlite:///{self.template}")
        async with engine.connect() as conn:
            self.server_version = str(await conn.scalar(text("SELECT sqlite_version()")))
        await engine.dispose()
        return self

    async def fresh_url(self) -> str:
        self.runs += 1
        path = self.dir / f"run{self.runs}.db"
        shutil.copy(self.template, path)
        return f"sqlite:///{path}"

    async def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend:
    """A database `xcdesk_bench_<random>` for this run, truncated before every measurement."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self.admin: URL = make_url(admin_url.replace("postgres://", "postgresql://", 1))
        self.database = f"xcdesk_bench_{uuid.uuid4().hex[:10]}"
        self.url = self.admin.set(drivername="postgresql", database=self.database)
        self.created = False
        self.server_version = ""

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(
            host=self.admin.host,
            port=self.admin.port or 5432,
            user=self.admin.username,
            password=self.admin.password,
            database=self.admin.database,
        )
        try:
            await conn.execute(sql)
            self.server_version = str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    def plain_url(self) -> str:
        return self.url.render_as_string(hide_password=False)

    async def open(self) -> PostgresBackend:
        await self._admin(f'CREATE DATABASE "{self.database}"')
        self.created = True
        await migrate(self.plain_url())
        return self

    async def fresh_url(self) -> str:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        engine = create_engine(self.plain_url())
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()
        return self.plain_url()

    async def close(self) -> None:
        if self.created:
            await self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------
# one measurement


@dataclass(frozen=True)
class Options:
    n: int  # tickets per intake measurement
    bare_n: int  # rows per baseline measurement (it is faster: more rows, same timing accuracy)
    bare_batched_n: int  # rows for the batched baseline, the fastest of all
    rounds: int
    concurrency: int
    batch: int


async def measure(
    backend: Backend, settings: Settings, side: Side, mode: Mode, opts: Options
) -> float:
    """Tickets per second of one side in one mode on a fresh database; raises BenchFailure."""
    database = Database.open(await backend.fresh_url(), pool_size=settings.database.pool_size)
    engine = database.engine
    try:
        desk = build_desk(settings, database)
        tag = uuid.uuid4().hex[:8]
        count = opts.n if side == "ours" else opts.bare_n
        if side == "bare" and mode == "batched":
            count = opts.bare_batched_n
        warm, work = make_inbounds(opts.batch, tag + "w"), make_inbounds(count, tag)
        if side == "bare":
            rows = [bare_row(desk, m, k + 1) for k, m in enumerate(warm + work)]
            warm_rows, work_rows = rows[: len(warm)], rows[len(warm) :]
            await _checked(call_bare(database.writer, warm_rows, mode, opts), side, "warm-up")
            started = time.perf_counter()
            outcomes = await call_bare(database.writer, work_rows, mode, opts)
        else:
            await _checked(call_ours(desk, warm, mode, opts), side, "warm-up")
            started = time.perf_counter()
            outcomes = await call_ours(desk, work, mode, opts)
        elapsed = time.perf_counter() - started
        problem = describe_errors(outcomes, side)
        if problem:
            raise BenchFailure(problem)
        await verify(engine, len(warm) + count, side)
        return count / elapsed
    finally:
        await database.dispose()


async def _checked(calls: Awaitable[list[Outcome]], side: Side, stage: str) -> None:
    problem = describe_errors(await calls, side)
    if problem:
        raise BenchFailure(f"{stage}: {problem}")


# ---------------------------------------------------------------------------------------------
# rounds and report


@dataclass
class Cell:
    """All rounds of one backend × variant."""

    backend: str
    mode: Mode
    label: str
    rates: dict[Side, list[float]] = field(default_factory=lambda: {"bare": [], "ours": []})
    failures: list[str] = field(default_factory=list)

    def ratios(self) -> list[float]:
        return [o / b for o, b in zip(self.rates["ours"], self.rates["bare"], strict=False)]

    def median(self, side: Side) -> float | None:
        return statistics.median(self.rates[side]) if self.rates[side] else None

    def ratio(self) -> float | None:
        return statistics.median(self.ratios()) if self.ratios() else None


def label(mode: Mode, opts: Options) -> str:
    return {
        "sequential": "receive, sequential",
        "concurrent": f"receive, {opts.concurrency} concurrent",
        "batched": f"receive_many, batches of {opts.batch}",
        "group": f"group commit, {opts.concurrency} callers",
    }[mode]


def baseline_label(mode: Mode, opts: Options) -> str:
    return {
        "sequential": "1 row/txn",
        "concurrent": f"1 row/txn x{opts.concurrency}",
        "batched": f"{opts.batch} rows/txn",
        "group": f"1 row/txn x{opts.concurrency}",
    }[mode]


async def run_backend(
    backend: Backend, settings: Settings, opts: Options, progress: Callable[[str], None]
) -> list[Cell]:
    cells = [Cell(backend.name, mode, label(mode, opts)) for mode in MODES]
    for round_no in range(opts.rounds):
        # alternate which side goes first, so a drifting machine does not favour one side
        sides: tuple[Side, Side] = ("bare", "ours") if round_no % 2 == 0 else ("ours", "bare")
        for cell in cells:
            measured: dict[Side, float] = {}
            for side in sides:
                try:
                    measured[side] = await measure(backend, settings, side, cell.mode, opts)
                except BenchFailure as exc:
                    repeat = any(str(exc) in f for f in cell.failures)
                    cell.failures.append(f"{side} round {round_no + 1}: {exc}")
                    detail = "(same as before)" if repeat else f"\n{exc}"
                    progress(f"FAILED {backend.name} {cell.label} [{side}] {detail}")
            if len(measured) == 2:  # keep rounds paired, so ratios compare neighbours
                for side, rate in measured.items():
                    cell.rates[side].append(rate)
                progress(
                    f"  {backend.name:<10} round {round_no + 1}  {cell.label:<30}"
                    f" ours {measured['ours']:8.0f}/s  bare {measured['bare']:8.0f}/s"
                    f"  ratio {measured['ours'] / measured['bare']:.2f}"
                )
    return cells


def fmt(value: float | None, spec: str) -> str:
    return "FAILED" if value is None else format(value, spec)


def table(cells: list[Cell], opts: Options) -> str:
    head = (
        f"{'backend':<11}{'variant':<32}{'tickets/s':>10}  {'baseline':<16}{'tickets/s':>10}"
        f"{'ratio':>8}  {'ratios per round':<20}"
    )
    lines = [head, "-" * len(head)]
    for c in cells:
        per_round = " ".join(f"{r:.2f}" for r in c.ratios())
        lines.append(
            f"{c.backend:<11}{c.label:<32}{fmt(c.median('ours'), '10.0f'):>10}  "
            f"{baseline_label(c.mode, opts):<16}{fmt(c.median('bare'), '10.0f'):>10}"
            f"{fmt(c.ratio(), '8.2f'):>8}  {per_round}"
        )
    return "\n".join(lines)


def versions(backends: list[Backend]) -> dict[str, str]:
    found = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "aiosqlite": version("aiosqlite"),
        "asyncpg": version("asyncpg"),
        "cpus": str(os.cpu_count()),
        "machine": platform.platform(),
    }
    for backend in backends:
        found[f"{backend.name}_server"] = backend.server_version
    return found


def json_report(cells: list[Cell], opts: Options, env: dict[str, str]) -> str:
    return json.dumps(
        {
            "benchmark": "xcdesk.intake",
            "env": env,
            "options": asdict(opts),
            "results": [
                {
                    "backend": c.backend,
                    "variant": c.mode,
                    "label": c.label,
                    "baseline": baseline_label(c.mode, opts),
                    "ours_per_s": c.rates["ours"],
                    "bare_per_s": c.rates["bare"],
                    "ours_median": c.median("ours"),
                    "bare_median": c.median("bare"),
                    "ratio_median": c.ratio(),
                    "ratios": c.ratios(),
                    "failures": [f.splitlines()[0] for f in c.failures],
                }
                for c in cells
            ],
        },
        ensure_ascii=False,
    )


# ---------------------------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.intake",
        description="Tickets/s through ticketing.intake beside a bare insert, same run.",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--n", type=int, default=250, help="tickets per intake measurement (default 250)"
    )
    parser.add_argument(
        "--bare-n", type=int, default=600, help="rows per baseline measurement (default 600)"
    )
    parser.add_argument(
        "--bare-batched-n", type=int, default=6000, help="rows for the batched baseline (6000)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=50, help="messages per receive_many call")
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG_URL, help="admin URL; a scratch database is made there"
    )
    parser.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    if min(args.n, args.bare_n, args.bare_batched_n, args.rounds, args.concurrency, args.batch) < 1:
        parser.error("every count (--n, --bare-n, --rounds …) must be at least 1")
    return args


async def open_backends(args: argparse.Namespace) -> list[Backend]:
    backends: list[Backend] = []
    if args.backend in ("sqlite", "both"):
        backends.append(await SqliteBackend().open())
    if args.backend in ("postgresql", "both"):
        pg = PostgresBackend(args.pg_url)
        try:
            backends.append(await pg.open())
        except BaseException:
            await pg.close()
            for backend in backends:
                await backend.close()
            raise
    return backends


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    opts = Options(
        n=args.n,
        bare_n=args.bare_n,
        bare_batched_n=args.bare_batched_n,
        rounds=args.rounds,
        concurrency=args.concurrency,
        batch=args.batch,
    )
    settings = load_settings()
    started = time.perf_counter()

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    backends = await open_backends(args)
    cells: list[Cell] = []
    try:
        for backend in backends:
            cells += await run_backend(backend, settings, opts, progress)
    finally:
        for backend in backends:
            await backend.close()
    env = versions(backends)
    print(f"xcdesk intake benchmark, {env['date']}")
    print(
        f"Python {env['python']}, SQLAlchemy {env['sqlalchemy']}, aiosqlite {env['aiosqlite']},"
        f" asyncpg {env['asyncpg']}; "
        + ", ".join(f"{b.name} {b.server_version}" for b in backends)
        + f"; {env['cpus']} CPUs; {env['machine']}"
    )
    print(
        f"{opts.n} tickets per intake measurement, {opts.bare_n} rows per baseline one"
        f" ({opts.bare_batched_n} batched), each after an untimed warm-up of {opts.batch};"
        f" {opts.rounds} rounds, medians;"
        " ratio = ours / bare within a round, median over rounds"
    )
    print()
    print(table(cells, opts))
    failures = [f for c in cells for f in c.failures]
    if failures:
        print(f"\n{len(failures)} measurement(s) FAILED; tracebacks were printed on stderr.")
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    report = json_report(cells, opts, env)
    if args.json:
        args.json.write_text(report + "\n", encoding="utf-8")
    print(report)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
