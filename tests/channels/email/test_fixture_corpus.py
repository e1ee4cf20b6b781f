"""The raw e-mail fixture corpus against channels.email.parse.parse_mail.

fixtures/build.py writes every fixtures/*.eml and fixtures/expected.json (one object per file);
its docstring states the conventions behind the expectations (header normalisation, charset
fallback, what counts as new text, signature, auto classification, attachment order).
Regenerate with: .venv/bin/python tests/channels/email/fixtures/build.py

Comparison rules used here:
* subject, from_email, from_name: equality; text_contains / text_excludes: substrings of `.text`;
* attachments: filename, content_type, size, inline in order, and sha256 == sha256(data);
* problems_contain: each keyword is a substring of " | ".join(problems); an empty list means the
  mail is clean, which test_clean_mail_has_no_problems checks separately;
* signature: name equal, org_name contained in the parsed one (a department may stay), phone
  equal by digits; null means no signature.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import random
import re
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
PARSED = [case for case in CASES if case["refused"] is None]
CLEAN = [case for case in PARSED if not case["problems_contain"]]
AUTO_KINDS = {None, "auto-submitted", "bulk", "out-of-office", "bounce"}

# Replies to the desk's acknowledgement "<xc-{ticket}-ack@xcdesk.example>": In-Reply-To and
# References both point at it; the auto-replies carry only In-Reply-To.
REPLIES = {
    "coremail-reply-original.eml": "XC-20261127-0042",
    "coremail-html-only-reply.eml": "XC-20261127-0050",
    "qq-reply-original.eml": "XC-20261127-0043",
    "foxmail-reply.eml": "XC-20261127-0051",
    "netease163-reply.eml": "XC-20261127-0052",
    "netease126-mailmaster.eml": "XC-20261127-0060",
    "outlook-cn-reply.eml": "XC-20261126-0017",
    "outlook-en-reply.eml": "XC-20261127-0044",
    "apple-iphone-reply.eml": "XC-20261127-0045",
    "apple-mac-reply.eml": "XC-20261127-0053",
    "thunderbird-bottom-post.eml": "XC-20261127-0046",
    "gmail-on-wrote.eml": "XC-20261126-0031",
}
AUTO_REPLIES = {
    "auto-reply-coremail-ooo.eml": "XC-20261127-0047",
    "auto-reply-outlook-en.eml": "XC-20261127-0048",
    "auto-reply-precedence.eml": "XC-20261127-0049",
    "auto-reply-x-autoreply.eml": "XC-20261127-0055",
}


def _parser() -> ModuleType:
    """Imported lazily so the corpus checks below run before the parser exists."""
    from channels.email import parse

    return parse


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["file"] for case in cases]


def _raw(case: dict[str, Any]) -> bytes:
    return (FIXTURES / case["file"]).read_bytes()


def _bare(message_id: str | None) -> str | None:
    return None if message_id is None else message_id.strip().strip("<>")


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def _assert_single_line(label: str, value: str | None) -> None:
    if value is not None:
        assert "\r" not in value and "\n" not in value, f"{label} has CR/LF: {value!r}"


# --- the corpus itself (no parser needed) -------------------------------------------------------


def test_corpus_size() -> None:
    assert len(CASES) >= 45
    files = _ids(CASES)
    assert len(files) == len(set(files))
    on_disk = {path.name for path in FIXTURES.glob("*.eml")}
    assert on_disk == set(files), "every .eml has exactly one expectation"


def _load_build() -> ModuleType:
    name = "xcdesk_email_fixture_build"
    spec = importlib.util.spec_from_file_location(name, FIXTURES / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


@pytest.mark.skipif(
    "ng" in zlib.ZLIB_RUNTIME_VERSION, reason="zlib-ng deflates to different bytes"
)
def test_fixtures_match_the_generator() -> None:
    built = _load_build().build()
    assert [f.expected for f in built] == CASES
    for fixture in built:
        assert (FIXTURES / fixture.file).read_bytes() == fixture.raw, fixture.file


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_expectation_shape(case: dict[str, Any]) -> None:
    assert case["auto"] in AUTO_KINDS
    if case["bounce_for"] is not None:
        assert case["auto"] == "bounce"
    if case["from_email"] is not None:
        assert case["from_email"] == case["from_email"].lower()
    for keyword in case["problems_contain"]:
        assert keyword == keyword.lower()
    raw = _raw(case)
    if case["refused"] is None:
        assert b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings only"


# --- the parser against the corpus ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_fixture(case: dict[str, Any]) -> None:
    parse = _parser()
    raw = _raw(case)

    if case["refused"] is not None:
        with pytest.raises(parse.MailRefused) as refused:
            parse.parse_mail(raw)
        assert case["refused"] in refused.value.reason.lower()
        return

    mail = parse.parse_mail(raw)

    assert mail.subject == case["subject"]
    assert mail.from_email == case["from_email"]
    assert mail.from_name == case["from_name"]

    for wanted in case["text_contains"]:
        assert wanted in mail.text, f"text lacks {wanted!r}: {mail.text!r}"
    for unwanted in case["text_excludes"]:
        assert unwanted not in mail.text, f"text has {unwanted!r}: {mail.text!r}"

    got = [(a.filename, a.content_type, a.size, a.inline) for a in mail.attachments]
    want = [
        (a["filename"], a["content_type"], a["size"], a.get("inline", False))
        for a in case["attachments"]
    ]
    assert got == want
    for attachment in mail.attachments:
        assert len(attachment.data) == attachment.size
        assert attachment.sha256 == hashlib.sha256(attachment.data).hexdigest()

    joined = " | ".join(mail.problems)
    for keyword in case["problems_contain"]:
        assert keyword in joined, f"no problem mentions {keyword!r}: {mail.problems!r}"

    assert mail.auto == case["auto"]
    assert mail.bounce_for == case["bounce_for"]

    expected_signature = case["signature"]
    if expected_signature is None:
        assert mail.signature is None
    else:
        assert mail.signature is not None
        assert mail.signature.name == expected_signature["name"]
        if expected_signature["org_name"] is None:
            assert mail.signature.org_name is None
        else:
            assert expected_signature["org_name"] in (mail.signature.org_name or "")
        assert _digits(mail.signature.phone) == _digits(expected_signature["phone"])


@pytest.mark.parametrize("case", PARSED, ids=_ids(PARSED))
def test_no_returned_header_value_spans_lines(case: dict[str, Any]) -> None:
    mail = _parser().parse_mail(_raw(case))
    _assert_single_line("subject", mail.subject)
    _assert_single_line("from_name", mail.from_name)
    _assert_single_line("from_email", mail.from_email)
    _assert_single_line("message_id", mail.message_id)
    _assert_single_line("in_reply_to", mail.in_reply_to)
    for value in (*mail.to, *mail.references):
        _assert_single_line("to/references", value)
    for attachment in mail.attachments:
        _assert_single_line("attachment filename", attachment.filename)
        assert "/" not in attachment.filename and "\\" not in attachment.filename
    # the injection fixtures must not smuggle anyone into the recipients or the sender
    assert all("victim@example.test" not in value.lower() for value in mail.to)
    assert mail.from_email not in ("victim@example.test", "boss@gxzf.gov.cn", "admin@evil.example")


@pytest.mark.parametrize("case", CLEAN, ids=_ids(CLEAN))
def test_clean_mail_has_no_problems(case: dict[str, Any]) -> None:
    mail = _parser().parse_mail(_raw(case))
    assert mail.problems == ()


@pytest.mark.parametrize("file", sorted(REPLIES | AUTO_REPLIES))
def test_replies_point_at_the_acknowledgement(file: str) -> None:
    mail = _parser().parse_mail((FIXTURES / file).read_bytes())
    ticket = REPLIES.get(file) or AUTO_REPLIES[file]
    ack = f"xc-{ticket}-ack@xcdesk.example"
    assert _bare(mail.in_reply_to) == ack
    if file in REPLIES:
        assert [_bare(r) for r in mail.references] == [ack]
        assert f"[{ticket}]" in mail.subject


def test_an_empty_body_gives_empty_text() -> None:
    mail = _parser().parse_mail((FIXTURES / "empty-body.eml").read_bytes())
    assert mail.text.strip() == ""
    assert mail.subject == "打印机卡纸"


# --- a 20 MB attachment, generated rather than stored --------------------------------------------


def _b64_lines(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def test_a_20_mb_attachment_is_dropped_with_a_problem() -> None:
    parse = _parser()
    video = random.Random(1).randbytes(20 * 1024 * 1024)
    shot = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    )
    boundary = b"----=_Part_BIG_1764219000"
    text = "监控室的硬盘录像机昨晚起无法回放，录像文件和截图见附件。\r\n".encode()
    raw = (
        b"Date: Fri, 27 Nov 2026 13:00:00 +0800\r\n"
        b"From: =?utf-8?B?5p2O5by6?= <liqiang@gxgg.gov.cn>\r\n"
        b"To: desk@xcdesk.example\r\n"
        b"Subject: =?utf-8?B?56Gs55uY5b2V5YOP5py65peg5rOV5Zue5pS+?=\r\n"
        b"Message-ID: <big-attachment@gxgg.gov.cn>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n'
        b"\r\n"
        b"--" + boundary + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _b64_lines(text) +
        b"--" + boundary + b"\r\n"
        b'Content-Type: video/mp4; name="record.mp4"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="record.mp4"\r\n\r\n' + _b64_lines(video) +
        b"--" + boundary + b"\r\n"
        b'Content-Type: image/png; name="shot.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="shot.png"\r\n\r\n' + _b64_lines(shot) +
        b"--" + boundary + b"--\r\n"
    )
    # the encoded message is ~27 MiB; only the per-attachment limit (10 MiB) is under test here
    limits = parse.MailLimits(max_message_bytes=64 * 1024 * 1024)

    mail = parse.parse_mail(raw, limits)

    assert mail.subject == "硬盘录像机无法回放"
    assert "无法回放" in mail.text
    assert [(a.filename, a.size) for a in mail.attachments] == [("shot.png", len(shot))]
    assert "too large" in " | ".join(mail.problems)
