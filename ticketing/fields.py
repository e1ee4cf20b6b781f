"""Checking work-order field values that people supply (API, console, CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from classifier.triage import CATEGORIES, LEVELS

# fields a person may set when opening a work order, beside the report text
SETTABLE_AT_INTAKE: frozenset[str] = frozenset(
    {
        "org_name",
        "contact_name",
        "contact_phone",
        "site_district",
        "product_category",
        "product_brand",
        "product_model",
        "level",
        "complaint",
        "handling_mode",
        "primary_vendor",
        "secondary_vendors",
        "sale_date",
    }
)


class InvalidField(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class _Choice:
    values: tuple[str, ...]

    def check(self, field: str, value: Any) -> Any:
        if value not in self.values:
            raise InvalidField(field, "应为 " + " / ".join(self.values) + " 之一")
        return value


_CHOICES = {
    "level": _Choice(LEVELS),
    "product_category": _Choice(CATEGORIES),
    "handling_mode": _Choice(("online", "onsite")),
}


def check_choice(field: str, value: Any) -> Any:
    """`value` if it is one of the ids `field` allows (level, product_category,
    handling_mode); else InvalidField naming them."""
    return _CHOICES[field].check(field, value)
_TEXT_LIMITS = {
    "org_name": 200,
    "contact_name": 100,
    "contact_phone": 40,
    "site_district": 50,
    "product_brand": 100,
    "product_model": 100,
    "primary_vendor": 200,
}


def check_text(field: str, value: Any, limit: int) -> str:
    """`value` stripped, if it is a text of at most `limit` characters; else InvalidField."""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidField(field, f"应为不超过 {limit} 字的文本")
    return value.strip()


def clean_intake_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise person-supplied fields; raise InvalidField on the first bad one."""
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in SETTABLE_AT_INTAKE:
            raise InvalidField(name, "不支持的字段")
        if value is None:
            continue
        if name in _CHOICES:
            cleaned[name] = check_choice(name, value)
        elif name in _TEXT_LIMITS:
            cleaned[name] = check_text(name, value, _TEXT_LIMITS[name])
        elif name == "complaint":
            if not isinstance(value, bool):
                raise InvalidField(name, "应为 true 或 false")
            cleaned[name] = value
        elif name == "secondary_vendors":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidField(name, "应为企业名称列表")
            cleaned[name] = [v.strip() for v in value if v.strip()]
        elif name == "sale_date":
            try:
                cleaned[name] = date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                cleaned[name] = None
            if cleaned[name] is None:
                raise InvalidField(name, "应为 YYYY-MM-DD 格式的日期")
            if not EARLIEST <= cleaned[name].year <= LATEST:
                raise InvalidField(name, f"年份应在 {EARLIEST}–{LATEST} 之间")
    return cleaned


# the years a sale, a call or a report can plausibly fall in (beyond them: a typo, or a probe)
EARLIEST, LATEST = 2000, 2100
