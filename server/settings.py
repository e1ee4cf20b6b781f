"""Settings: defaults in config/settings.toml, an optional --config file, then XCDESK_* variables.

A wrong setting raises `SettingsError` with one bilingual line that names the setting, so the
command line can print it instead of a traceback.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

BUILTIN_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENV_PREFIX = "XCDESK_"


class SettingsError(Exception):
    """A setting is wrong; str(self) is the one line to show the operator."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite:///data/xcdesk.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in {"sqlite", "sqlite+aiosqlite", "postgresql", "postgres",
                          "postgresql+asyncpg"}:
            raise ValueError(
                "只支持 sqlite:/// 或 postgresql:// 地址 | "
                "only sqlite:/// and postgresql:// URLs are supported"
            )
        return value


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)  # processes sharing the port
    public_url: str = "http://127.0.0.1:8080"  # how users reach the service (survey links)


class TicketingSettings(_Section):
    prefix: str = "XC"
    timezone: str = "Asia/Shanghai"
    review_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    supervisor_email: str = ""  # told of P1 reports and missed deadlines (by e-mail)
    sla_watch_seconds: float = Field(default=30, gt=0)  # how often deadlines are checked

    @field_validator("prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{1,8}", value):
            raise ValueError("应为 1–8 个大写字母 | must be 1-8 capital letters")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("未知时区 | unknown time zone") from exc
        return value


class SlaSettings(_Section):
    respond_hours: float = Field(default=1, gt=0)
    same_city_arrive_hours: float = Field(default=4, gt=0)
    same_city_resolve_hours: float = Field(default=24, gt=0)
    remote_arrive_hours: float = Field(default=12, gt=0)
    remote_resolve_hours: float = Field(default=48, gt=0)


class ClassifierSettings(_Section):
    kind: Literal["model", "rules"] = "model"
    model_dir: str = ""


class PathSettings(_Section):
    config_dir: str = ""


class LogSettings(_Section):
    level: str = "INFO"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(
                "应为 DEBUG/INFO/WARNING/ERROR | must be DEBUG, INFO, WARNING or ERROR"
            )
        return value.upper()


class WechatSettings(_Section):
    """The WeChat Official Account channel; off while `token` is empty."""

    token: str = ""  # the shared signature secret of the account's server settings
    appid: str = ""
    secret: str = ""  # AppSecret, for the API (notices, media)
    aes_key: str = ""  # EncodingAESKey (43 characters), safe mode
    previous_aes_key: str = ""  # the key before the last change, still accepted for decryption
    mode: Literal["safe", "plaintext"] = "safe"
    account_id: str = ""  # 原始ID gh_…; when set, messages addressed elsewhere are refused
    api_base: str = "https://api.weixin.qq.com/cgi-bin/"
    api_timeout: float = Field(default=10, gt=0, le=60)
    timestamp_window: int = Field(default=300, ge=10, le=3600)  # seconds
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    reply_deadline: float = Field(default=4.0, gt=0, lt=5)  # WeChat gives up after 5 s
    follow_up_hours: float = Field(default=24, gt=0)
    progress_template: str = ""  # template id for notices outside the 48-hour window
    max_media_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @model_validator(mode="after")
    def _complete(self) -> WechatSettings:
        if not self.token:
            return self
        if not 3 <= len(self.token) <= 32:
            raise ValueError("token 应为 3–32 个字符 | token must be 3–32 characters")
        if not self.appid:
            raise ValueError("启用微信渠道需要 appid | the WeChat channel needs appid")
        for name in ("aes_key", "previous_aes_key"):
            key = getattr(self, name)
            if key and not re.fullmatch(r"[A-Za-z0-9]{43}", key):
                raise ValueError(
                    f"{name} 应为 43 位字母数字 | {name} must be 43 letters and digits"
                )
        if self.mode == "safe" and not self.aes_key:
            raise ValueError(
                "安全模式需要 aes_key（或设 mode = \"plaintext\"）| "
                "safe mode needs aes_key (or set mode = \"plaintext\")"
            )
        return self


class EmailSettings(_Section):
    """The e-mail channel; off while `addresses` is empty."""

    addresses: str = ""  # our service addresses, comma-separated (SMTP accepts mail for these)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=0, le=65535)  # 0: no SMTP intake
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_attachments: int = Field(default=20, ge=0)
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    new_tickets_per_hour: int = Field(default=10, ge=1)  # per sender; more join their last
    smarthost: str = ""  # host:port for outgoing mail; empty: mail waits in the outbox
    smarthost_starttls: bool = False
    smarthost_user: str = ""
    smarthost_password: str = ""
    from_name: str = "信创产品服务台"
    message_id_domain: str = "xcdesk.local"
    # mailboxes to fetch from: imap://user:password@host:port/INBOX (imaps:// for TLS),
    # comma-separated
    imap: str = ""
    imap_poll_seconds: float = Field(default=30, gt=0)

    @property
    def address_list(self) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in self.addresses.split(",") if a.strip())

    @property
    def enabled(self) -> bool:
        return bool(self.address_list)

    @field_validator("addresses")
    @classmethod
    def _addresses_shape(cls, value: str) -> str:
        for address in (a.strip() for a in value.split(",") if a.strip()):
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"{address!r} 不是邮件地址 | {address!r} is not an address")
        return value

    @field_validator("imap")
    @classmethod
    def _mailbox_urls(cls, value: str) -> str:
        for url in (u.strip() for u in value.split(",") if u.strip()):
            if not re.fullmatch(r"imaps?://[^@/\s]+@[^/\s]+(/[^\s]*)?", url):
                raise ValueError(
                    "应为 imap://用户:密码@主机:端口/文件夹 | must be imap://user:password@host:port/FOLDER"
                )
        return value

    @field_validator("smarthost")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^:\s]+:\d{1,5}", value):
            raise ValueError("应为 主机:端口 | must be host:port")
        return value


class PhoneSettings(_Section):
    """Call-detail records from the PBX."""

    cdr_folder: str = ""  # watched by `xcdesk serve` for new CDR files; empty: not watched
    cdr_format: Literal["asterisk", "freeswitch", "generic"] = "asterisk"
    cdr_poll_seconds: float = Field(default=10, gt=0)
    # the generic CSV format: header names of its columns (empty: the column is absent)
    generic_unique_id: str = "呼叫ID"
    generic_caller: str = "主叫号码"
    generic_caller_name: str = ""
    generic_callee: str = "被叫号码"
    generic_started_at: str = "开始时间"
    generic_answered_at: str = "应答时间"
    generic_ended_at: str = "结束时间"
    generic_agent: str = "坐席"
    generic_time_format: str = "%Y-%m-%d %H:%M:%S"
    generic_encoding: str = "utf-8-sig"


class ComplaintSettings(_Section):
    """The complaint ledger (投诉台账)."""

    owner: str = "投诉专员"  # who takes a new complaint until someone is named
    investigate_hours: float = Field(default=24, gt=0)  # received → investigating
    remedy_hours: float = Field(default=72, gt=0)  # received → remedied


class SmsSettings(_Section):
    """Text messages to hotline callers: an adapter to the operator's SMS gateway."""

    # "package.module:factory" returning a channels.sms.adapter.SmsProvider; empty: no SMS
    # (hotline callers then hear by phone: surveys become callback tasks for agents)
    provider: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
        case_sensitive=False,
    )

    database: DatabaseSettings = DatabaseSettings()
    http: HttpSettings = HttpSettings()
    ticketing: TicketingSettings = TicketingSettings()
    sla: SlaSettings = SlaSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    paths: PathSettings = PathSettings()
    log: LogSettings = LogSettings()
    wechat: WechatSettings = WechatSettings()
    email: EmailSettings = EmailSettings()
    phone: PhoneSettings = PhoneSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    sms: SmsSettings = SmsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides whatever the TOML files (passed as init values) say.
        return env_settings, init_settings

    @property
    def config_dir(self) -> Path:
        return Path(self.paths.config_dir) if self.paths.config_dir else BUILTIN_CONFIG_DIR

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.ticketing.timezone)


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"配置文件不存在：{path} | config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            f"配置文件格式错误：{path}：{exc} | config file is not valid TOML: {path}: {exc}"
        ) from exc


_ZH_ERRORS = {
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "extra_forbidden": "未知配置项",
    "greater_than_equal": "数值太小",
    "greater_than": "数值太小",
    "less_than_equal": "数值太大",
    "string_type": "应为文本",
    "model_type": "应为一个配置节",
    "literal_error": "取值不在允许范围内",
}


def _explain(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc)
    env_name = ENV_PREFIX + "_".join(part.upper() for part in loc)
    message = error["msg"].removeprefix("Value error, ")
    if "|" not in message:
        zh = _ZH_ERRORS.get(error["type"], "取值无效")
        message = f"{zh} | {message}"
    zh_part, _, en_part = message.partition("|")
    return (
        f"配置项 {dotted}（{env_name}）错误：{zh_part.strip()} | "
        f"invalid setting {dotted} ({env_name}): {en_part.strip()}"
    )


def load_settings(config_file: Path | None = None) -> Settings:
    """Defaults, then `config_file`, then XCDESK_* environment variables."""
    values = _read_toml(BUILTIN_CONFIG_DIR / "settings.toml")
    if config_file is not None:
        values = _deep_merge(values, _read_toml(config_file))
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError("; ".join(_explain(e) for e in exc.errors())) from exc
