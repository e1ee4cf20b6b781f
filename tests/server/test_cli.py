"""The `xcdesk` command as a user runs it: real processes, real ports, real databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def xcdesk(
    *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "env,named",
    [
        ({"XCDESK_HTTP_PORT": "abc"}, "XCDESK_HTTP_PORT"),
        ({"XCDESK_DATABASE_URL": "mysql://x/y"}, "XCDESK_DATABASE_URL"),
        ({"XCDESK_TICKETING_TIMEZONE": "Mars/Base"}, "XCDESK_TICKETING_TIMEZONE"),
        ({"XCDESK_DATABASE_COLOUR": "red"}, "XCDESK_DATABASE_COLOUR"),
    ],
)
def test_a_wrong_setting_stops_with_one_clear_line(env: dict[str, str], named: str) -> None:
    result = xcdesk("migrate", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "配置项" in lines[0] and "invalid setting" in lines[0]
    assert "Traceback" not in result.stderr


def test_config_file_is_read_and_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[http]\nprot = 9000\n', encoding="utf-8")
    result = xcdesk("serve", "--config", str(bad))
    assert result.returncode == 2
    assert "http.prot" in result.stderr and "未知配置项" in result.stderr
    missing = xcdesk("serve", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "配置文件不存在" in missing.stderr


def test_unreachable_database_is_one_clear_line() -> None:
    result = xcdesk("migrate", env={"XCDESK_DATABASE_URL": "postgresql://x@127.0.0.1:1/none"})
    assert result.returncode == 2
    assert "无法连接数据库" in result.stderr and "Traceback" not in result.stderr


def test_token_create_prints_the_token_last(db_url: str) -> None:
    env = {"XCDESK_DATABASE_URL": db_url}
    assert xcdesk("demo", env=env).returncode == 0
    ok = xcdesk("token", "create", "--role", "vendor", "--vendor", "桂联终端销售有限公司（演示）",
                env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1].startswith("xc_")
    bad = xcdesk("token", "create", "--role", "vendor", "--vendor", "没有这家", env=env)
    assert bad.returncode == 2 and "未登记的企业" in bad.stderr


def test_demo_twice_changes_nothing(tmp_path: Path) -> None:
    env = {"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    assert xcdesk("demo", env=env).returncode == 0
    again = xcdesk("demo", env=env)
    assert again.returncode == 0 and "演示数据已载入" in again.stdout


def test_serve_end_to_end(tmp_path: Path) -> None:
    """`xcdesk serve` migrates a new database, answers HTTP, and stops cleanly on SIGTERM."""
    env = {**os.environ, "XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/e2e.db",
           "XCDESK_HTTP_PORT": "0", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert "serving on http://127.0.0.1:" in line, line + proc.stderr.read()  # type: ignore[union-attr]
        base = line.rsplit(" ", 1)[1].strip()
        with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
            assert json.load(resp) == {"status": "ok"}
        token = xcdesk("token", "create", "--role", "agent", env=env).stdout.split()[-1]
        request = urllib.request.Request(
            base + "/api/v1/tickets",
            data=json.dumps({"description": "OA系统打不开了，全科室都不能用"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 201
            ticket = json.load(resp)
        assert ticket["level"] == "P1"
        exported = xcdesk("export", "--format", "csv", "-o", str(tmp_path / "l.csv"), env=env)
        assert exported.returncode == 0, exported.stderr
        data = (tmp_path / "l.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and ticket["ticket_no"].encode() in data
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = xcdesk("serve", env={"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
                                      "XCDESK_HTTP_PORT": str(port)})
    assert result.returncode == 2 and "无法监听" in result.stderr


def test_classify_needs_exactly_one_mode(tmp_path: Path) -> None:
    none = xcdesk("classify")
    assert none.returncode == 2 and "三选一" in none.stderr
    empty = xcdesk("classify", "--export-corrections", "-o", str(tmp_path / "c.jsonl"),
                   env={"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"})
    assert empty.returncode == 0 and "已导出 0 条更正" in empty.stderr
    assert (tmp_path / "c.jsonl").read_text() == ""


@pytest.mark.parametrize(
    "env,says",
    [
        ({"XCDESK_WECHAT_TOKEN": "tok123", "XCDESK_WECHAT_APPID": "wx1"}, "aes_key"),
        ({"XCDESK_WECHAT_TOKEN": "tok123"}, "appid"),
        (
            {"XCDESK_WECHAT_TOKEN": "tok123", "XCDESK_WECHAT_APPID": "wx1",
             "XCDESK_WECHAT_AES_KEY": "too-short"},
            "43",
        ),
        ({"XCDESK_WECHAT_MODE": "open"}, "XCDESK_WECHAT_MODE"),
    ],
)
def test_an_incomplete_wechat_setup_stops_with_one_clear_line(
    env: dict[str, str], says: str
) -> None:
    result = xcdesk("migrate", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in result.stderr


def test_serve_with_workers_and_wechat(tmp_path: Path) -> None:
    """Two processes on one port, one database, the WeChat webhook on: both answer, and
    SIGTERM stops them all."""
    import socket

    from channels.wechat import protocol

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
           "XCDESK_HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1",
           "XCDESK_WECHAT_TOKEN": "tok123", "XCDESK_WECHAT_APPID": "wx1",
           "XCDESK_WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--workers", "2"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        started = [proc.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert all("serving on" in line for line in started), started
        q = {"timestamp": "1714036504", "nonce": "1514711492", "echostr": "hello"}
        q["signature"] = protocol.signature("tok123", q["timestamp"], q["nonce"])
        url = f"http://127.0.0.1:{port}/wechat?" + "&".join(f"{k}={v}" for k, v in q.items())
        for _ in range(6):  # connections land on either process
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert resp.read() == b"hello"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_parse_mail_prints_one_json_line_per_file(tmp_path: Path) -> None:
    fixtures = ROOT / "tests" / "channels" / "email" / "fixtures"
    result = xcdesk("parse-mail", str(fixtures / "coremail-gb2312-plain.eml"),
                    str(fixtures / "empty.eml"))
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["from_email"] and first["subject"] and first["text"]
    assert set(first) >= {"subject", "from_email", "from_name", "text", "full_text",
                          "attachments", "problems"}
    assert second["refused"] == "empty message"
    missing = xcdesk("parse-mail", str(tmp_path / "nope.eml"))
    assert missing.returncode == 2 and "无法读取" in missing.stderr


def test_import_contracts_and_vendor_add(tmp_path: Path) -> None:
    env = {"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    good = ROOT / "tests" / "ticketing" / "fixtures" / "contracts" / "contracts_gb18030.csv"
    first = xcdesk("import-contracts", str(good), env=env)
    assert first.returncode == 0, first.stderr
    assert "新导入" in first.stdout and "已存在 0" in first.stdout
    again = xcdesk("import-contracts", str(good), env=env)
    assert "新导入 0" in again.stdout
    bad = ROOT / "tests" / "ticketing" / "fixtures" / "contracts" / "contracts_errors.csv"
    refused = xcdesk("import-contracts", str(bad), env=env)
    assert refused.returncode == 1 and "第 " in refused.stderr and "未导入" in refused.stderr
    added = xcdesk("vendor", "add", "甲公司", "--webhook", "https://jia.example/h",
                   "--secret", "s", env=env)
    assert added.returncode == 0 and "已登记企业 甲公司" in added.stdout
    no_secret = xcdesk("vendor", "add", "乙公司", "--webhook", "https://yi.example/h", env=env)
    assert no_secret.returncode == 2 and "--secret" in no_secret.stderr


def test_report_service(tmp_path: Path) -> None:
    env = {"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/r.db"}
    assert xcdesk("migrate", env=env).returncode == 0
    result = xcdesk("report", "service", "--from", "2026-11-01", env=env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["total"]["tickets"] == 0 and figures["total"]["completion_rate"] is None


def test_report_complaints_and_tasks(tmp_path: Path) -> None:
    env = {"XCDESK_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    assert xcdesk("migrate", env=env).returncode == 0
    logged = xcdesk("call", "--caller", "13607710003", "--agent", "王", "--summary",
                    "我要投诉，工程师两天都没来", "--name", "韦工", env=env)
    assert logged.returncode == 0, logged.stderr
    no = json.loads(logged.stdout)["ticket_no"]
    out = tmp_path / "投诉台账.csv"
    result = xcdesk("report", "complaints", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "共 1 条投诉" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeff投诉编号,工单编号,主责企业,投诉来源,处理状态,负责人,投诉内容")
    row = text.splitlines()[1].split(",")
    assert row[:2] == ["TS000001", no] and row[3:6] == ["用户留言", "已受理", "投诉专员"]
    assert row[6] == "我要投诉，工程师两天都没来"
    as_json = xcdesk("report", "complaints", "--format", "jsonl", "--status", "confirmed",
                     env=env)
    assert as_json.returncode == 0 and as_json.stdout == ""  # none confirmed yet
    tasks = xcdesk("tasks", env=env)
    assert tasks.returncode == 0 and tasks.stdout == ""  # nothing closed, nobody to call
