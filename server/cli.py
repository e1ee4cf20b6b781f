"""The `xcdesk` command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
from aiohttp import web

from classifier import corpus
from classifier.evaluate import evaluate, format_report
from classifier.triage import triage_json
from server.app import build_app, cdr_source, make_runner
from server.runtime import DatabaseUnavailable, Runtime, build_classifier, open_runtime
from server.settings import Settings, SettingsError, load_settings
from ticketing.access import TokenError, create_token
from ticketing.corrections import export_corrections
from ticketing.demo import load_demo
from ticketing.ledger import export as export_ledger

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="TOML file with settings that override config/settings.toml.",
)


def _settings(config_file: Path | None) -> Settings:
    try:
        return load_settings(config_file)
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]], *, migrate: bool) -> T:
    """Open the runtime, do `work`, close; operator errors become one line and exit 2.

    The event loop is uvloop's where it is installed (Linux): about a tenth more requests per
    second on the webhook path, the same behaviour.
    """

    async def main() -> T:
        runtime = await open_runtime(settings, migrate=migrate)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return _event_loop_runner()(main())
    except (DatabaseUnavailable, TokenError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _event_loop_runner() -> Callable[[Awaitable[T]], T]:
    try:
        import uvloop
    except ImportError:  # not on this platform: the standard loop
        return asyncio.run  # type: ignore[return-value]
    return uvloop.run  # type: ignore[no-any-return]


@click.group()
def main() -> None:
    """xcdesk: 信创产品服务保障平台 intake bot and helpdesk connector."""


@main.command()
@config_option
@click.option("--host", default=None, help="Override http.host.")
@click.option("--port", type=int, default=None, help="Override http.port (0 picks a free port).")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=None, help="Override http.workers."
)
def serve(
    config_file: Path | None, host: str | None, port: int | None, workers: int | None
) -> None:
    """Bring the schema up to date and run the service until SIGINT/SIGTERM."""
    settings = _settings(config_file)
    logging.basicConfig(
        level=settings.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    bind_host = host or settings.http.host
    bind_port = settings.http.port if port is None else port
    workers = workers or settings.http.workers
    if workers == 1:
        _serve(settings, bind_host, bind_port, migrate=True, reuse_port=False)
        return
    # several processes on one port (SO_REUSEPORT; the kernel spreads the connections), one
    # database: the schema is brought up to date once, here, before they start
    _run(settings, _nothing, migrate=True)
    if bind_port == 0:
        bind_port = _free_port(bind_host)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_serve_worker, args=(config_file, bind_host, bind_port), daemon=False
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for process in processes:
        process.join()
    sys.exit(max(p.exitcode or 0 for p in processes))


async def _nothing(_: Runtime) -> None:
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _serve_worker(config_file: Path | None, host: str, port: int) -> None:
    settings = _settings(config_file)
    logging.basicConfig(
        level=settings.log.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _serve(settings, host, port, migrate=False, reuse_port=True)


def _serve(settings: Settings, host: str, port: int, *, migrate: bool, reuse_port: bool) -> None:
    async def run(runtime: Runtime) -> None:
        runner = make_runner(build_app(runtime.desk, settings))
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            click.echo(
                f"无法监听 {host}:{port}（XCDESK_HTTP_PORT）：{exc.strerror} | "
                f"cannot listen on {host}:{port} (XCDESK_HTTP_PORT): {exc.strerror}",
                err=True,
            )
            sys.exit(2)
        actual_port = runner.addresses[0][1]
        shown_host = f"[{host}]" if ":" in host else host
        click.echo(f"xcdesk 已启动 | serving on http://{shown_host}:{actual_port}", err=False)
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    _run(settings, run, migrate=migrate)


@main.command()
@config_option
def migrate(config_file: Path | None) -> None:
    """Only bring the database schema up to date."""

    async def done(runtime: Runtime) -> None:
        click.echo("数据库结构已是最新 | database schema is up to date")

    _run(_settings(config_file), done, migrate=True)


@main.command()
@config_option
def demo(config_file: Path | None) -> None:
    """Load the demo organisations, contacts and vendors (safe to run again)."""
    settings = _settings(config_file)

    async def load(runtime: Runtime) -> None:
        counts = await load_demo(
            runtime.desk.uow(), settings.config_dir / "demo.toml", runtime.desk.clock()
        )
        click.echo(
            f"演示数据已载入：{counts.organisations} 个单位，{counts.contacts} 位联系人，"
            f"{counts.vendors} 家企业 | demo data loaded"
        )

    _run(settings, load, migrate=True)


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@config_option
@click.option("--role", type=click.Choice(["agent", "vendor", "supervisor"]), required=True)
@click.option("--vendor", default=None, help="Vendor name (role vendor only).")
@click.option("--label", default=None, help="Who or what the token is for.")
def token_create(
    config_file: Path | None, role: str, vendor: str | None, label: str | None
) -> None:
    """Print a new bearer token as the last line (it is shown only once)."""

    async def create(runtime: Runtime) -> str:
        async with runtime.desk.uow() as uow:
            value = await create_token(
                uow.session, role, runtime.desk.clock(), vendor=vendor, label=label
            )
            await uow.commit()
        return value

    value = _run(_settings(config_file), create, migrate=True)
    click.echo(f"# 新令牌（只显示这一次）| new {role} token, shown once:", err=True)
    click.echo(value)


@contextlib.contextmanager
def _text_output(path: Path | None) -> Iterator[TextIO]:
    """The file at `path`, or standard output; UTF-8 and no newline translation either way."""
    if path is None:
        sys.stdout.reconfigure(encoding="utf-8", newline="")  # type: ignore[union-attr]
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        yield out


def _since(value: str | None, settings: Settings) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "应为 YYYY-MM-DD | expected YYYY-MM-DD", param_hint="--since"
        ) from None
    return datetime.combine(day, time.min, tzinfo=settings.zone)


@main.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--since", default=None, help="Only work orders reported on or after this date.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="File to write (default: standard output).")
def export(config_file: Path | None, fmt: str, since: str | None, output: Path | None) -> None:
    """Write the work-order ledger with the field ids (CSV: Chinese headers, UTF-8 with BOM)."""
    settings = _settings(config_file)
    since_at = _since(since, settings)

    async def write(runtime: Runtime) -> int:
        desk = runtime.desk
        with _text_output(output) as out:
            async with desk.sessions() as session:
                return await export_ledger(
                    session, out, fmt, desk.vocabulary, desk.zone, since_at
                )

    count = _run(settings, write, migrate=True)
    click.echo(f"已导出 {count} 张工单 | exported {count} work orders", err=True)


@main.command()
@config_option
@click.argument("text", required=False)
@click.option("--evaluate", "evaluate_file", type=click.Path(path_type=Path), default=None,
              help="Score the classifier on a corpus-format JSONL file.")
@click.option("--export-corrections", is_flag=True,
              help="Write the triage corrections people made, in the corpus format.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="With --export-corrections: file to write (default: standard output).")
def classify(
    config_file: Path | None,
    text: str | None,
    evaluate_file: Path | None,
    export_corrections: bool,
    output: Path | None,
) -> None:
    """Triage TEXT and print it as JSON ("-" reads standard input); or --evaluate, or
    --export-corrections."""
    modes = [text is not None, evaluate_file is not None, export_corrections]
    if sum(modes) != 1:
        raise click.UsageError(
            "请给出要分类的文本，或 --evaluate FILE，或 --export-corrections（三选一）| "
            "give TEXT, --evaluate FILE or --export-corrections (exactly one)"
        )
    settings = _settings(config_file)
    if export_corrections:
        _export_corrections(settings, output)
        return
    triager = build_classifier(settings)
    if evaluate_file is not None:
        try:
            examples = list(corpus.read(evaluate_file))
        except (OSError, corpus.CorpusError) as exc:
            click.echo(f"无法读取评估文件 | cannot read the evaluation file: {exc}", err=True)
            sys.exit(2)
        click.echo(format_report(evaluate(triager.triage_many, examples)))
        return
    if text == "-":
        text = sys.stdin.read()
    triage = triager.triage(text or "")
    click.echo(json.dumps(triage_json(triage), ensure_ascii=False, indent=2))


def _export_corrections(settings: Settings, output: Path | None) -> None:
    async def write(runtime: Runtime) -> int:
        with _text_output(output) as out:
            async with runtime.desk.sessions() as session:
                return await export_corrections(session, out, runtime.desk)

    count = _run(settings, write, migrate=True)
    click.echo(f"已导出 {count} 条更正 | exported {count} corrected reports", err=True)


@main.command("parse-mail")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def parse_mail_command(files: tuple[Path, ...]) -> None:
    """Print what the e-mail parser makes of each raw message, one JSON line per file."""
    from channels.email.parse import MailRefused, parse_mail

    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            click.echo(f"无法读取 {path}：{exc.strerror} | cannot read {path}", err=True)
            failed = True
            continue
        try:
            summary: dict[str, object] = {"file": str(path)} | parse_mail(raw).summary()
        except MailRefused as exc:
            summary = {"file": str(path), "refused": exc.reason}
        click.echo(json.dumps(summary, ensure_ascii=False))
    if failed:
        sys.exit(2)


@main.command("import-calls")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["asterisk", "freeswitch", "generic"]),
              default=None, help="CDR layout (default: phone.cdr_format).")
@click.option("--watch", "folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Keep importing new files that appear in this folder.")
def import_calls(
    config_file: Path | None, files: tuple[Path, ...], fmt: str | None, folder: Path | None
) -> None:
    """Import call-detail records of the PBX (each file all or nothing; again changes nothing)."""
    from channels.phone.cdr import CdrError
    from channels.phone.importer import CdrFolderWatcher, import_file

    settings = _settings(config_file)
    source = cdr_source(settings, fmt)
    if not files and folder is None:
        raise click.UsageError("给出 CDR 文件或 --watch 文件夹 | give CDR files or --watch FOLDER")

    async def work(runtime: Runtime) -> int:
        failed = 0
        for path in files:
            try:
                result = await asyncio.to_thread(_import_with_bar, runtime, path, source)
            except CdrError as exc:
                click.echo(f"{path}：未导入，以下行有误 | not imported, bad rows:\n{exc}", err=True)
                failed += 1
                continue
            click.echo(
                f"{path}：{result.records} 条记录，新导入 {result.inserted}，已存在 "
                f"{result.duplicates}，与坐席登记匹配 {result.matched}，新回拨任务 "
                f"{result.callbacks_opened}"
            )
        if folder is not None:
            poll = settings.phone.cdr_poll_seconds
            watcher = CdrFolderWatcher(runtime.desk, folder, source, poll)
            click.echo(f"正在监视 {folder}（Ctrl-C 停止）| watching {folder}")
            await watcher.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            await watcher.stop()
        return failed

    def _import_with_bar(runtime: Runtime, path: Path, src: Any) -> Any:
        size = path.stat().st_size
        if size < 1_000_000:
            return import_file(runtime.desk, path, src)
        with click.progressbar(length=max(size // 120, 1), label=f"导入 {path.name}",
                               file=sys.stderr) as bar:
            return import_file(runtime.desk, path, src, progress=bar.update)

    failed = _run(settings, work, migrate=False)
    if failed:
        sys.exit(1)


@main.command("call")
@config_option
@click.option("--caller", required=True, help="The caller's number.")
@click.option("--agent", required=True, help="Who took the call.")
@click.option("--summary", default="", help="The problem, in the caller's words.")
@click.option("--ticket", "ticket_no", default=None, help="A follow-up about this ticket.")
@click.option("--started", default=None, help="Call start, ISO 8601 with zone (default: now).")
@click.option("--answered", default=None, help="Answer time, ISO 8601 with zone.")
@click.option("--name", default=None, help="The caller's name.")
@click.option("--org", default=None, help="The caller's unit.")
@click.option("--callback", is_flag=True, help="We called the user back (outgoing call).")
def call(
    config_file: Path | None, caller: str, agent: str, summary: str, ticket_no: str | None,
    started: str | None, answered: str | None, name: str | None, org: str | None,
    callback: bool,
) -> None:
    """Log a hotline call from the terminal; prints the caller and the ticket as JSON."""
    from ticketing import calls

    settings = _settings(config_file)

    def moment(value: str | None, option: str) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(
                "应为 ISO 8601 时间 | must be ISO 8601", param_hint=option
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=settings.zone)

    async def work(runtime: Runtime) -> dict[str, Any]:
        desk = runtime.desk
        logged = await calls.log_call(desk, calls.CallLog(
            caller=caller, agent=agent, summary=summary, ticket_no=ticket_no,
            started_at=moment(started, "--started") or desk.clock(),
            answered_at=moment(answered, "--answered"), caller_name=name, org_name=org,
            direction="out" if callback else "in",
        ))
        async with desk.sessions() as session:
            who = await calls.caller_info(session, caller)
        result = logged.result
        return {
            "call_id": logged.call_id,
            "ticket_no": result.ticket_no if result else None,
            "outcome": (result.first_outcome or result.outcome) if result else None,
            "level": result.level if result else None,
            "matched_pbx_record": logged.matched,
            "callbacks_closed": logged.callbacks_closed,
            "caller": {"phone": who.phone, "name": who.name, "org_name": who.org_name,
                       "open_tickets": who.open_tickets},
        }

    click.echo(json.dumps(_run(settings, work, migrate=True), ensure_ascii=False, indent=1))


def _period(
    since: str | None, until: str | None, settings: Settings
) -> tuple[datetime | None, datetime | None]:
    """--from and --to as local days, `--to` inclusive: [start of from, end of to)."""
    last = _since(until, settings)
    return _since(since, settings), last + timedelta(days=1) if last is not None else None


@main.group()
def report() -> None:
    """Reports for supervisors."""


@report.command("hotline")
@config_option
@click.option("--from", "since", default=None, help="First local day, YYYY-MM-DD.")
@click.option("--to", "until", default=None, help="Last local day, YYYY-MM-DD (inclusive).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def report_hotline(
    config_file: Path | None, since: str | None, until: str | None, as_json: bool
) -> None:
    """Hotline figures: calls, answered within 30 s, abandoned, waits; by day and by hour."""
    from ticketing import calls, hotline

    settings = _settings(config_file)
    first, last = _period(since, until, settings)

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.desk.sessions() as session:
            rows = await calls.pbx_calls(session, first, last)
        return hotline.report(rows, settings.zone)

    figures = _run(settings, work, migrate=False)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=1))
        return
    click.echo(f"{'时段':<12}{'来电':>6}{'接通':>6}{'30秒内接通':>10}{'接通率':>8}{'放弃':>6}"
               f"{'平均等待秒':>10}{'P90等待秒':>10}")
    rows = [("合计", figures["total"])] + [(d, f) for d, f in figures["by_day"].items()] + [
        (f"{h}时", f) for h, f in figures["by_hour"].items()]
    for label, f in rows:
        rate = f["answered_within_30s_rate"]
        click.echo(
            f"{label:<12}{f['calls']:>8}{f['answered']:>8}{f['answered_within_30s']:>12}"
            f"{'' if rate is None else f'{rate:.1%}':>11}{f['abandoned']:>8}"
            f"{'' if f['average_wait_seconds'] is None else f['average_wait_seconds']:>14}"
            f"{'' if f['p90_wait_seconds'] is None else f['p90_wait_seconds']:>12}"
        )


@main.group()
def vendor() -> None:
    """The companies tickets are routed to."""


@vendor.command("add")
@config_option
@click.argument("name")
@click.option("--webhook", default=None, help="HTTPS URL tickets are pushed to (signed JSON).")
@click.option("--secret", default=None, help="The HMAC secret of the webhook.")
@click.option("--email", default=None, help="Where tickets go when there is no webhook.")
@click.option("--kind", type=click.Choice(["supplier", "integrator", "maker"]), default=None)
def vendor_add(
    config_file: Path | None, name: str, webhook: str | None, secret: str | None,
    email: str | None, kind: str | None,
) -> None:
    """Register a company (or update its webhook, secret and e-mail)."""
    from ticketing.directory import add_vendor

    if webhook and not webhook.startswith(("https://", "http://")):
        raise click.BadParameter(
            "应为 http(s):// 地址 | must be an http(s) URL", param_hint="--webhook"
        )
    if webhook and not secret:
        raise click.BadParameter(
            "webhook 需要签名密钥 | a webhook needs --secret", param_hint="--secret"
        )
    settings = _settings(config_file)

    async def work(runtime: Runtime) -> int:
        async with runtime.desk.uow() as uow:
            added = await add_vendor(uow.session, name, runtime.desk.clock(), kind=kind,
                                     email=email, webhook_url=webhook, webhook_secret=secret)
            await uow.commit()
            return added.id

    vendor_id = _run(settings, work, migrate=True)
    click.echo(f"已登记企业 {name}（编号 {vendor_id}）| vendor registered")


@main.command("import-contracts")
@config_option
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def import_contracts(config_file: Path | None, file: Path) -> None:
    """Import the contracts registry from CSV or XLSX (one transaction; again changes nothing)."""
    from ticketing.contract_file import ContractFileError, read_contracts
    from ticketing.contracts import import_contracts_sync

    settings = _settings(config_file)
    try:
        rows = read_contracts(file.read_bytes(), file.name)
    except ContractFileError as exc:
        click.echo(f"{file}：未导入 | not imported\n{exc}", err=True)
        sys.exit(1)

    async def work(runtime: Runtime) -> Any:
        return await asyncio.to_thread(import_contracts_sync, runtime.desk, rows)

    result = _run(settings, work, migrate=True)
    click.echo(
        f"{file}：{result.rows} 行，新导入 {result.inserted}，已存在 {result.duplicates}，"
        f"新登记企业 {result.vendors_added}"
    )


@report.command("complaints")
@config_option
@click.option("--from", "since", default=None, help="First local day received, YYYY-MM-DD.")
@click.option("--to", "until", default=None, help="Last local day received (inclusive).")
@click.option("--status", type=click.Choice(["received", "investigating", "remedied",
                                             "confirmed"]), default=None)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def report_complaints(
    config_file: Path | None, since: str | None, until: str | None, status: str | None,
    fmt: str, output: Path | None,
) -> None:
    """The complaint ledger (投诉台账): every complaint, its owner, deadlines, remedy and the
    user's answer; CSV with Chinese headers for people, JSON lines for machines."""
    from ticketing import complaint_export, complaints
    from ticketing.orm import Complaint

    settings = _settings(config_file)
    first, last = _period(since, until, settings)
    table = Complaint.__table__
    where = [c for c in (
        table.c.received_at >= first if first else None,
        table.c.received_at < last if last else None,
        table.c.status == status if status else None,
    ) if c is not None]

    async def work(runtime: Runtime) -> tuple[list[complaints.ComplaintView], Any]:
        found = await runtime.desk.transact(lambda conn: complaints.listing(conn, *where))
        return found, runtime.desk.vocabulary

    rows, vocabulary = _run(settings, work, migrate=False)
    if output is None:
        count = complaint_export.write(rows, sys.stdout, fmt, vocabulary, settings.zone)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            count = complaint_export.write(rows, out, fmt, vocabulary, settings.zone)
    click.echo(f"共 {count} 条投诉 | {count} complaints", err=True)


@main.command("tasks")
@config_option
@click.option("--kind", type=click.Choice(["survey_call", "follow_up", "complaint_call"]),
              default=None)
@click.option("--role", type=click.Choice(["agent", "supervisor"]), default=None)
@click.option("--all", "show_all", is_flag=True, help="Done tasks too.")
def list_tasks(
    config_file: Path | None, kind: str | None, role: str | None, show_all: bool
) -> None:
    """Calls to make (回访/回拨), the most urgent first."""
    from ticketing import tasks

    settings = _settings(config_file)

    async def work(runtime: Runtime) -> list[tasks.TaskView]:
        return await runtime.desk.transact(lambda conn: tasks.listing(
            conn, status=None if show_all else "open", kind=kind, role=role))

    for task in _run(settings, work, migrate=False):
        due = task.due_at.astimezone(settings.zone).strftime("%m-%d %H:%M")
        state = "" if task.status == "open" else f"（已完成：{task.note or ''}）"
        click.echo(f"#{task.id}\t{due}\t{task.ticket_no}\t{task.phone or ''}\t{task.title}{state}")


@report.command("service")
@config_option
@click.option("--from", "since", default=None, help="First local day, YYYY-MM-DD.")
@click.option("--to", "until", default=None, help="Last local day, YYYY-MM-DD (inclusive).")
def report_service(config_file: Path | None, since: str | None, until: str | None) -> None:
    """Service rates as JSON: completion, complaints resolved, satisfaction, survey response,
    SLA compliance per step; in total, by primary company and by month."""
    from ticketing import service_rates

    settings = _settings(config_file)
    first, last = _period(since, until, settings)

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.desk.sessions() as session:
            facts = await service_rates.ticket_facts(session, first, last)
        return service_rates.report(facts, runtime.desk.clock(), settings.zone)

    click.echo(json.dumps(_run(settings, work, migrate=False), ensure_ascii=False, indent=1))
