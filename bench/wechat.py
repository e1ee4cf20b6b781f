"""WeChat webhook throughput and latency, beside a bare aiohttp handler: `python -m bench.wechat`.

What is measured
----------------
The real service (`xcdesk serve`, one process, SQLite file by default or PostgreSQL with
`--database`) with the WeChat channel on, in plaintext and in safe (AES) mode, receives text
reports from `--concurrency` (64) simultaneous senders playing WeChat: each request is signed
(and in safe mode encrypted) as WeChat does, from a distinct user, so each opens a ticket with
triage, SLA deadlines, the raw message and an audit event, and is answered with the passive
reply only after its group commit. The baseline, in the same run, is a bare aiohttp process that
reads the body and returns a reply of the same size: what the web server alone costs.

Requests are built before the clock starts; the load generator runs in this process, the servers
in their own processes (2 cores: one each). Per round, requests per second and p50/p99 latency of
each; the ratio ours / bare is taken per round and the median over rounds reported. After each
service run the database must hold every report (raw messages = requests) and every answer must
carry a ticket number, or the run counts as FAILED (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from channels.wechat import protocol

TOKEN = "bench-token"
APPID = "wxbench000000001"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench0000001"
REPORTS = (
    "财务室电脑开不了机，急用",
    "打印机卡纸，打不出公文了",
    "OA系统登录报错，全科室都进不去",
    "WPS打开文档就闪退，麒麟系统",
    "服务器机房告警，业务系统访问很慢",
    "扫描仪驱动装不上，型号是奔图",
)


@dataclass(frozen=True)
class Request:
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Run:
    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    ok: bool
    note: str = ""


def build_requests(n: int, safe: bool, offset: int) -> list[Request]:
    now = int(time.time())
    requests = []
    for i in range(n):
        k = offset + i
        xml = protocol.build_message_xml(
            {
                "ToUserName": ACCOUNT,
                "FromUserName": f"oBench{k:020d}",
                "CreateTime": now,
                "MsgType": "text",
                "Content": f"{REPORTS[k % len(REPORTS)]}（{k}）",
                "MsgId": 5_000_000_000 + k,
            }
        )
        ts, nonce = str(now), f"n{k}"
        query = {"timestamp": ts, "nonce": nonce, "signature": protocol.signature(TOKEN, ts, nonce)}
        if safe:
            body, msg_signature = protocol.inbound_envelope(
                xml, TOKEN, AES_KEY, APPID, ACCOUNT, ts, nonce
            )
            query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
            requests.append(Request(query, body))
        else:
            requests.append(Request(query, xml.encode()))
    return requests


async def load(
    url: str, requests: list[Request], concurrency: int
) -> tuple[float, list[float], int]:
    """Send all `requests` from `concurrency` workers; (seconds, latencies, good answers)."""
    latencies: list[float] = []
    good = 0
    todo = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal good
        for request in todo:
            started = time.perf_counter()
            async with http.post(url, params=request.query, data=request.body) as resp:
                text = await resp.text()
            latencies.append(time.perf_counter() - started)
            good += resp.status == 200 and "<xml>" in text

    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, good


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not start")


def start_service(
    port: int, database: str, safe: bool, workers: int
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "XCDESK_DATABASE_URL": database,
        "XCDESK_LOG_LEVEL": "WARNING",
        "XCDESK_WECHAT_TOKEN": TOKEN,
        "XCDESK_WECHAT_APPID": APPID,
        "XCDESK_WECHAT_AES_KEY": AES_KEY,
        "XCDESK_WECHAT_ACCOUNT_ID": ACCOUNT,
        "XCDESK_WECHAT_MODE": "safe" if safe else "plaintext",
        "XCDESK_WECHAT_TIMESTAMP_WINDOW": "3600",
        "XCDESK_WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin/",  # no notices are sent here
    }
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
    )


def start_bare(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.wechat", "--bare-server", str(port)])


def bare_server(port: int) -> None:
    """The baseline: read the body, answer a reply of the size ours has."""
    from aiohttp import web

    content = "已收到您反馈的问题，工单号：XC-20261128-0001" * 3
    reply = protocol.text_reply("oBench", ACCOUNT, content, 0)

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=reply, content_type="application/xml")

    app = web.Application()
    app.router.add_post("/wechat", handle)
    app.router.add_get("/healthz", lambda _: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def stored(database: str) -> int:
    path = database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0])


def summary(name: str, elapsed: float, latencies: list[float], good: int, n: int) -> Run:
    ordered = sorted(latencies)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return Run(name, n / elapsed, p(0.50), p(0.99), good == n, f"{good}/{n} answered")


async def measure_service(safe: bool, workers: int, n: int, warmup: int, concurrency: int,
                          workdir: Path, round_no: int) -> Run:
    port = free_port()
    name = f"{'aes' if safe else 'plaintext'} ×{workers}"
    database = f"sqlite:///{workdir}/bench-{'aes' if safe else 'plain'}-{workers}-{round_no}.db"
    process = start_service(port, database, safe, workers)
    url = f"http://127.0.0.1:{port}/wechat"
    try:
        await wait_ready(f"http://127.0.0.1:{port}/healthz", process)
        await load(url, build_requests(warmup, safe, offset=10_000_000), concurrency)
        requests = build_requests(n, safe, offset=0)
        elapsed, latencies, good = await load(url, requests, concurrency)
    finally:
        stop(process)
    run = summary(name, elapsed, latencies, good, n)
    kept = stored(database) - warmup
    if kept != n:
        return Run(run.name, run.rate, run.p50_ms, run.p99_ms, False, f"stored {kept}/{n}")
    return run


async def measure_bare(n: int, warmup: int, concurrency: int) -> Run:
    port = free_port()
    process = start_bare(port)
    url = f"http://127.0.0.1:{port}/wechat"
    try:
        await wait_ready(f"http://127.0.0.1:{port}/healthz", process)
        await load(url, build_requests(warmup, True, offset=10_000_000), concurrency)
        elapsed, latencies, good = await load(url, build_requests(n, True, 0), concurrency)
    finally:
        stop(process)
    return summary("bare", elapsed, latencies, good, n)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", default="1,2", help="server processes to measure, comma-separated"
    )
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_server is not None:
        bare_server(args.bare_server)
        return 0
    failed = False
    counts = [int(w) for w in args.workers.split(",")]
    results: dict[str, list[Run]] = {"bare": []}
    with tempfile.TemporaryDirectory(prefix="xcdesk-bench-") as tmp:
        for r in range(args.rounds):
            bare = asyncio.run(measure_bare(args.requests, args.warmup, args.concurrency))
            results["bare"].append(bare)
            for safe in (False, True):
                for workers in counts:
                    run = asyncio.run(
                        measure_service(safe, workers, args.requests, args.warmup,
                                        args.concurrency, Path(tmp), r)
                    )
                    results.setdefault(run.name, []).append(run)
                    failed |= not run.ok
                    print(
                        f"round {r + 1}: {run.name:<13} {run.rate:7.0f} req/s"
                        f"  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms"
                        f"  ({run.note}; bare {bare.rate:.0f} req/s)",
                        flush=True,
                    )
    print(f"\n{args.requests} requests per run, {args.concurrency} concurrent senders, "
          f"median of {args.rounds} rounds\n")
    print(f"{'handler':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}")
    for name, runs in results.items():
        ratios = [run.rate / bare.rate for run, bare in zip(runs, results["bare"], strict=True)]
        print(
            f"{name:<16}{statistics.median(r.rate for r in runs):>8.0f}"
            f"{statistics.median(r.p50_ms for r in runs):>9.1f}"
            f"{statistics.median(r.p99_ms for r in runs):>9.1f}"
            f"{statistics.median(ratios):>9.2f}"
            + ("" if all(r.ok for r in runs) else "  FAILED")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
