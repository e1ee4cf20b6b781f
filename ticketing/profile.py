"""Reading a user's "单位名称+姓名+联系电话" answer.

People type it many ways: `南宁市财政局+张三+13800001234`, with full-width ＋, commas, spaces or
line breaks, the phone first or last, a landline with an area code. What is certain is the phone
number; of the two other parts the longer one, or the one naming a kind of unit, is the unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[+＋,，、;；/|\s]+")
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}\d{7,8})$")  # once dashes are gone
_UNIT_WORDS = (
    "局", "厅", "委", "办", "院", "中心", "公司", "学校", "医院", "政府", "街道", "所",
    "队", "站", "馆", "处", "部", "镇", "乡", "村", "社区", "大学", "学院",
)  # fmt: skip
_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$|^[A-Za-z][A-Za-z .'-]{1,40}$")


@dataclass(frozen=True)
class Profile:
    org_name: str
    name: str
    phone: str


def parse_profile(text: str) -> Profile | None:
    """The profile in `text`, or None when it does not read as unit + name + phone."""
    parts = [p for p in _SEPARATORS.split(text.strip()) if p]
    if len(parts) != 3:
        return None
    parts = [p.replace("－", "-") for p in parts]
    phones = [i for i, p in enumerate(parts) if _PHONE.match(p.replace("-", ""))]
    if len(phones) != 1:
        return None
    phone = parts.pop(phones[0])
    first, second = parts
    org, name = _unit_first(first, second)
    if not _NAME.match(name) or len(org) < 2:
        return None
    return Profile(org_name=org, name=name, phone=phone)


def _unit_first(a: str, b: str) -> tuple[str, str]:
    def unit_like(s: str) -> bool:
        return s.endswith(_UNIT_WORDS) or len(s) > 6

    if unit_like(b) and not unit_like(a):
        return b, a
    return a, b


_PHONE_IN_TEXT = re.compile(
    r"(?<![\d])(?:\+?86[-\s]?)?(1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}|0\d{2,3}[-\s]?\d{7,8})(?![\d])"
)


def phone_in(text: str) -> str | None:
    """The first phone number (mobile or landline with area code) written in `text`."""
    match = _PHONE_IN_TEXT.search(text)
    return match.group(1) if match else None
