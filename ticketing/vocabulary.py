"""Chinese names of field ids and values (config/vocabulary.toml) and message templates."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined


@dataclass(frozen=True)
class Vocabulary:
    sections: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        with path.open("rb") as fh:
            return cls(tomllib.load(fh))

    @property
    def field_names(self) -> dict[str, str]:
        return self.sections["fields"]

    def label(self, section: str, value: Any) -> str:
        """The Chinese label of a value, or the value itself when it has none."""
        if value is None:
            return ""
        key = str(value).lower() if isinstance(value, bool) else str(value)
        return self.sections.get(section, {}).get(key, str(value))


class Templates:
    """Renders zh-CN texts from config/templates/zh-CN: notices (*.j2) and error messages."""

    def __init__(self, folder: Path, vocabulary: Vocabulary, zone: ZoneInfo) -> None:
        self._zone = zone
        self._env = Environment(
            loader=FileSystemLoader(folder),
            undefined=StrictUndefined,
            autoescape=False,  # plain-text messages; HTML pages use their own environment
            keep_trailing_newline=False,
            auto_reload=False,  # templates are read once: no stat() on every render
        )
        self._env.filters["localtime"] = self.localtime
        self._env.globals["label"] = vocabulary.label
        with (folder / "errors.toml").open("rb") as fh:
            self._errors: dict[str, str] = tomllib.load(fh)
        with (folder / "notices" / "notices.toml").open("rb") as fh:
            notices = tomllib.load(fh)
        self.desk_name: str = notices.pop("desk_name")
        self._notices: dict[str, dict[str, str]] = notices

    def localtime(self, value: datetime) -> str:
        return value.astimezone(self._zone).strftime("%Y-%m-%d %H:%M")

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context).strip()

    def notice(self, step: str, channel: str, **context: Any) -> tuple[str, str, str]:
        """(subject, summary, body) of the user notice for `step` on `channel`
        (notices/<channel>/<step>.txt.j2; subject and summary from notices/notices.toml)."""
        meta = self._notices[step]
        body = self.render(f"notices/{channel}/{step}.txt.j2", **context)
        return meta["subject"], meta["summary"], body

    def error(self, code: str, **params: Any) -> str:
        return self._errors[code].format(**params)
