"""Separating what the sender wrote now from the earlier messages they quote and their signature.

Written by hand: the libraries for this (talon, email-reply-parser) are unmaintained or know only
English clients. The markers are those of the clients Guangxi units use: Coremail and 163
("-----原始邮件-----"), QQ Mail and Foxmail ("------------------ 原始邮件 ------------------"
and "发件人:"/"发送时间:" blocks), Outlook ("发件人: … 发送时间: …", "From: … Sent: …", a line of
underscores), Apple Mail and Gmail ("在 …，… 写道：", "On … wrote:"), ">" quoting, and the phone
signatures ("发自我的iPhone", "来自网易邮箱大师", "Sent from my iPhone").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ticketing.profile import phone_in

_QUOTE_START = [
    re.compile(r"^\s*-{2,}\s*(原始邮件|原邮件|转发邮件|邮件原文|Original Message|Forwarded message)\s*-{2,}\s*$", re.I),  # noqa: E501
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*在.{0,120}(写道|wrote)\s*[:：]?\s*$"),
    re.compile(r"^\s*On .{0,200}wrote:\s*$", re.I),
    re.compile(r"^\s*>"),
]
# a header block of a quoted message: "发件人:" / "From:" with a date line just below
_HEADER_FROM = re.compile(r"^\s*\**\s*(发件人|From)\s*\**\s*[:：]", re.I)
_HEADER_DATE = re.compile(
    r"^\s*\**\s*(发送时间|时间|日期|Sent|Date)\s*\**\s*[:：]", re.I
)
_SIGNATURE_START = [
    re.compile(r"^--\s?$"),
    re.compile(r"^\s*(发自我的|来自我的|发自|来自)\s*(iPhone|iPad|华为|小米|荣耀|OPPO|vivo|手机|网易邮箱|QQ邮箱|Android|移动版|邮箱大师)", re.I),  # noqa: E501
    re.compile(r"^\s*来自网易邮箱大师|^\s*来自\s*QQ\s*邮箱", re.I),
    re.compile(r"^\s*(Sent from my|Sent from Mail for|Get Outlook for)", re.I),
]
_UNIT_END = re.compile(
    r"(局|厅|委员会|委|办公室|办|院|中心|公司|学校|医院|政府|街道|所|队|站|馆|处|部|镇|乡|村|社区|大学|学院)"
)
_NAME_LINE = re.compile(
    r"^[\u3400-\u4dbf\u4e00-\u9fff·]{2,4}$"  # Chinese names (rare characters too: 龚䶮)
    r"|^[A-Z][\w'’.-]+( [A-Z][\w'’.-]+){1,3}$"  # Latin names (René Lefèvre)
)
# a company abroad (a vendor's English signature)
_COMPANY = re.compile(r"\b(SARL|SAS|GmbH|Ltd|Limited|Inc|LLC|Corp|Co\.)\b\.?")
# phone numbers outside China, in signatures only: +33 1 23 45 67 89
_INTL_PHONE = re.compile(r"\+\d{1,3}(?:[\s-]?\d){6,14}")


def _phone(line: str) -> str | None:
    found = phone_in(line)
    if found:
        return found
    match = _INTL_PHONE.search(line)
    return match.group(0) if match else None


@dataclass(frozen=True)
class Signature:
    org_name: str | None
    name: str | None
    phone: str | None


def split_reply(text: str) -> tuple[str, str]:
    """(new text, the quotation): the quotation starts at the first quoted earlier message.

    A bottom-posted reply (the quotation first, as Thunderbird users write) has its new text
    after the last ">" line of the quotation.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_START) or _quoted_header(lines, i):
            new = "\n".join(lines[:i]).strip()
            if new:
                return new, "\n".join(lines[i:])
            return _after_quotation(lines, i)
    return text.strip(), ""


def _after_quotation(lines: list[str], start: int) -> tuple[str, str]:
    last = max((j for j in range(start, len(lines)) if lines[j].lstrip().startswith(">")),
               default=None)
    if last is None:
        return "", "\n".join(lines[start:])
    return "\n".join(lines[last + 1 :]).strip(), "\n".join(lines[start : last + 1])


def _quoted_header(lines: list[str], i: int) -> bool:
    if not _HEADER_FROM.match(lines[i]):
        return False
    return any(_HEADER_DATE.match(line) for line in lines[i + 1 : i + 5])


def split_signature(text: str) -> tuple[str, str]:
    """(text without signature, signature). A signature starts at "-- " or a phone client's
    line, or is the trailing block of short lines that gives a phone number."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _SIGNATURE_START):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
    block = _trailing_contact_block(lines)
    if block:
        return "\n".join(lines[:block]).strip(), "\n".join(lines[block:]).strip()
    return text.strip(), ""


def _trailing_contact_block(lines: list[str]) -> int | None:
    """Start of a trailing run of up to 6 signature-like lines holding a phone number."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and end - start < 6 and _signature_like(lines[start - 1]):
        start -= 1
    if start == end or start == 0 or not any(_phone(ln) for ln in lines[start:end]):
        return None
    return start


_SENTENCE = re.compile(r"[，。！？；,!?;]")


def _signature_like(line: str) -> bool:
    """A short line of a name, unit, section, phone or address; not a sentence."""
    text = line.strip()
    if not text or len(text) > 40:
        return False
    if _phone(text) or "@" in text:
        return True
    return not _SENTENCE.search(text)


def signature_profile(signature: str, new_text: str = "") -> Signature | None:
    """Unit, name and phone stated in a signature (or the last lines of the text)."""
    lines = [ln.strip() for ln in (signature or new_text).splitlines() if ln.strip()][-6:]
    phone = next((p for p in (_phone(ln) for ln in lines) if p), None)
    org = None
    name = None
    for line in lines:
        if _phone(line):
            continue
        if org is None and _COMPANY.search(line) and len(line) <= 60:
            org = line
        elif org is None and _UNIT_END.search(line) and len(line) <= 40:
            # "南宁市青秀区财政局 信息科" -> the unit, without the section
            org = re.split(r"[\s,，]+", line)[0]
            ends = [m.end() for m in _UNIT_END.finditer(org)]
            if ends and ends[-1] < len(org):
                org = org[: ends[-1]]
        elif name is None and _NAME_LINE.match(line):
            name = line
    if phone is None and org is None:
        return None
    return Signature(org_name=org, name=name, phone=phone)
