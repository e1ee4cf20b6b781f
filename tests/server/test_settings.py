"""Settings precedence: defaults < --config file < XCDESK_* environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings
from ticketing.db import async_url


def test_defaults() -> None:
    s = load_settings()
    assert (s.http.host, s.http.port) == ("127.0.0.1", 8080)
    assert s.database.url.startswith("sqlite:///")
    assert s.ticketing.prefix == "XC" and str(s.zone) == "Asia/Shanghai"


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "site.toml"
    conf.write_text('[http]\nport = 9000\nhost = "0.0.0.0"\n[sla]\nremote_arrive_hours = 10\n')
    s = load_settings(conf)
    assert (s.http.port, s.http.host, s.sla.remote_arrive_hours) == (9000, "0.0.0.0", 10)
    assert s.sla.same_city_arrive_hours == 4  # untouched keys keep their defaults
    monkeypatch.setenv("XCDESK_HTTP_PORT", "9100")
    monkeypatch.setenv("XCDESK_SLA_SAME_CITY_ARRIVE_HOURS", "3")
    monkeypatch.setenv("XCDESK_DATABASE_URL", "postgresql://u:p@db:5432/xc")
    s = load_settings(conf)
    assert (s.http.port, s.http.host) == (9100, "0.0.0.0")
    assert s.sla.same_city_arrive_hours == 3
    assert s.database.url == "postgresql://u:p@db:5432/xc"


@pytest.mark.parametrize(
    "name,value,fragment",
    [
        ("XCDESK_HTTP_PORT", "70000", "XCDESK_HTTP_PORT"),
        ("XCDESK_TICKETING_PREFIX", "xc1", "XCDESK_TICKETING_PREFIX"),
        ("XCDESK_LOG_LEVEL", "LOUD", "XCDESK_LOG_LEVEL"),
        ("XCDESK_SLA_RESPOND_HOURS", "-1", "XCDESK_SLA_RESPOND_HOURS"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "url,driver",
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_async_driver_is_chosen_for_the_user(url: str, driver: str) -> None:
    assert async_url(url).drivername == driver
