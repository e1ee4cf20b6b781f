"""What a raw e-mail says: `parse_mail(raw) -> ParsedMail`, or `MailRefused`.

The standard `email` package (policy=default) splits the MIME structure; decoding.py turns bytes
into text (Chinese charsets), quotes.py separates the new text from quotations and signature.
Broken mail is parsed as far as it goes and every repair is listed in `problems`; only mail with
nothing to read (empty, or over the size limit) is refused. Attachments are kept within limits on
count, size and (for archives) unpacked size, with safe file names.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from bs4 import BeautifulSoup

from channels.email.decoding import decode_bytes, decode_header_value
from channels.email.quotes import Signature, signature_profile, split_reply, split_signature


class MailRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MailLimits:
    max_attachments: int = 20
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_message_bytes: int = 25 * 1024 * 1024
    max_unpacked_ratio: int = 100  # an archive unpacking to more than this many times its size
    max_unpacked_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    data: bytes = field(repr=False)
    content_id: str | None = None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    subject: str
    from_email: str | None
    from_name: str | None
    to: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str  # what the sender wrote now
    full_text: str  # the whole readable body, quotations included
    attachments: tuple[MailAttachment, ...]
    auto: str | None  # auto-submitted / bulk / out-of-office / bounce
    bounce_for: str | None
    signature: Signature | None
    problems: tuple[str, ...]

    def summary(self) -> dict[str, object]:
        """The JSON `xcdesk parse-mail` prints."""
        return {
            "subject": self.subject,
            "from_email": self.from_email,
            "from_name": self.from_name,
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "full_text": self.full_text,
            "attachments": [
                {"filename": a.filename, "type": a.content_type, "size": a.size,
                 "sha256": a.sha256, "inline": a.inline}
                for a in self.attachments
            ],
            "auto": self.auto,
            "bounce_for": self.bounce_for,
            "signature": self.signature.__dict__ if self.signature else None,
            "problems": list(self.problems),
        }


_MSGID = re.compile(r"<[^<>\s]+>")
_OOO_SUBJECT = re.compile(
    r"^\s*(自动回复|自动答复|Automatic reply|Auto(matic)?[- ]?(reply|response)|"
    r"Out of (the )?Office|Autoreply|休假|外出)",
    re.I,
)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BODY_TYPES = ("text/plain", "text/html")
_MAIL_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "received",
                           "mime-version", "content-type", "return-path", "sender", "reply-to"})
# parts of a delivery report that are the machine's, not a person's words or files
_REPORT_PARTS = ("message/delivery-status", "text/rfc822-headers", "message/rfc822",
                 "message/global-headers", "message/global-delivery-status")


def parse_mail(raw: bytes, limits: MailLimits = MailLimits()) -> ParsedMail:
    if not raw.strip():
        raise MailRefused("empty message")
    if len(raw) > limits.max_message_bytes:
        raise MailRefused(f"message too large ({len(raw)} bytes)")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is for what it cannot take at all
        raise MailRefused(f"unreadable message: {type(exc).__name__}") from exc
    present = {name.lower() for name, _ in msg.raw_items()}
    if not present & _MAIL_HEADERS:
        raise MailRefused("no mail headers found (not an e-mail message)")
    try:
        return _read(msg, limits)
    except MailRefused:
        raise
    except Exception as exc:  # a mail the standard library itself trips over: refused, named
        raise MailRefused(f"unreadable message: {type(exc).__name__}") from exc


def _read(msg: Message, limits: MailLimits) -> ParsedMail:
    problems: list[str] = []
    headers = _Headers(msg, problems)
    from_name, from_email = headers.sender()
    subject = headers.get("Subject")
    if not headers.raw("Subject"):
        problems.append("no subject header")
    body = _Body(limits, problems)
    body.walk(msg)
    full_text = body.readable()
    if not full_text and not body.attachments:
        problems.append("empty body")
    new_text, _quoted = split_reply(full_text)
    new_text, signature_text = split_signature(new_text)
    auto, bounce_for = _automatic(msg, headers, subject, from_email, body)
    return ParsedMail(
        message_id=headers.message_id("Message-ID"),
        subject=subject,
        from_email=from_email,
        from_name=from_name,
        to=tuple(addr for _, addr in headers.addresses("To")),
        date=headers.date(),
        in_reply_to=headers.message_id("In-Reply-To"),
        references=tuple(_MSGID.findall(headers.get("References"))),
        text=new_text,
        full_text=full_text,
        attachments=tuple(body.attachments),
        auto=auto,
        bounce_for=bounce_for,
        signature=signature_profile(signature_text) if signature_text else None,
        problems=tuple(dict.fromkeys(problems)),
    )


class _Headers:
    """Header values decoded once, defensively: the raw value, never the policy's parse, which
    raises on the broken headers real mail carries."""

    def __init__(self, msg: Message, problems: list[str]) -> None:
        self._problems = problems
        self._raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._raw.setdefault(name.lower(), []).append(str(value))
        for name in ("from", "subject", "to", "message-id", "content-type"):
            if len(self._raw.get(name, [])) > 1:
                problems.append(f"duplicate {name} header, the first is used")

    def raw(self, name: str) -> str:
        values = self._raw.get(name.lower())
        return values[0] if values else ""

    def get(self, name: str) -> str:
        raw = self.raw(name)
        return decode_header_value(raw, self._problems, name) if raw else ""

    def addresses(self, name: str, every: bool = False) -> list[tuple[str, str]]:
        """(display name, address) pairs of the header; `every`: of each copy of the header
        until one has an address (some mail carries an unusable From and a usable one)."""
        copies = self._raw.get(name.lower(), []) if every else [self.raw(name)]
        for value in copies:
            found = self._addresses(value, name)
            if found:
                return found
        return []

    def _addresses(self, value: str, name: str) -> list[tuple[str, str]]:
        raw = re.sub(r"\r?\n[ \t]*", " ", value)
        if not raw:
            return []
        found = []
        try:
            pairs = getaddresses([raw])
        except ValueError:  # Python refuses some; read them without the display names
            self._problems.append(f"malformed {name} header")
            pairs = [("", a) for a in re.findall(r"<([^<>\s]+@[^<>\s]+)>", raw)]
        for display, address in pairs:
            address = address.strip().lower()
            if "@" not in address or any(c in address for c in "\r\n\t "):
                continue
            name_text = decode_header_value(display, self._problems, name) if display else ""
            found.append((name_text, address))
        if not found:  # "From: Test test@example.com": an address without its brackets
            bare = re.search(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", raw)
            if bare:
                found.append(("", bare.group(0).lower()))
        return found

    def sender(self) -> tuple[str | None, str | None]:
        for name in ("From", "Sender", "Reply-To", "Return-Path"):
            found = self.addresses(name, every=True)
            if found:
                if name != "From":
                    self._problems.append(f"no usable from header, {name.lower()} used")
                display, address = found[0]
                return (display.strip('"\' ') or None), address
        self._problems.append("no sender address found")
        return None, None

    def message_id(self, name: str) -> str | None:
        ids = _MSGID.findall(self.raw(name))
        return ids[0] if ids else None

    def date(self) -> datetime | None:
        raw = self.raw("Date")
        if not raw:
            return None
        try:
            return parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            self._problems.append("unreadable date header")
            return None


class _Body:
    def __init__(self, limits: MailLimits, problems: list[str]) -> None:
        self.limits = limits
        self.problems = problems
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[MailAttachment] = []
        self.delivery_status: list[str] = []
        self._seen_attachments = 0

    def walk(self, msg: Message) -> None:
        self.report = _content_type(msg) == "multipart/report"
        self._visit(msg)
        for defect in _defects(msg):
            self.problems.append(defect)

    def _visit(self, part: Message) -> None:
        ctype = _content_type(part)
        if ctype == "message/delivery-status":
            self.delivery_status.append(_status_fields(part, self.problems))
        elif self.report and ctype in _REPORT_PARTS:
            return  # the returned mail and its headers: the bounce's, not a person's
        elif ctype == "message/rfc822":
            self._forwarded(part)  # a mail attached whole: one .eml file, not read into text
        elif part.is_multipart():
            for child in part.iter_parts() if hasattr(part, "iter_parts") else part.get_payload():
                self._visit(child)
        else:
            self._leaf(part)

    def _forwarded(self, part: Message) -> None:
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        try:
            data = inner.as_bytes(policy=policy.compat32) if isinstance(inner, Message) else b""
        except Exception:  # headers the generator cannot write back out
            self.problems.append("attached mail could not be kept")
            return
        self._keep(part, "message/rfc822", "attachment", _filename(part) or "forwarded.eml", data)

    def _leaf(self, part: Message) -> None:
        ctype = _content_type(part)
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part)
        is_body = ctype in _BODY_TYPES and disposition != "attachment" and not filename
        if is_body:
            text = _payload_text(part, self.problems)
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        if ctype.startswith("multipart/") or ctype == "message/rfc822" and not filename:
            return
        self._attachment(part, ctype, disposition, filename)

    def _attachment(self, part: Message, ctype: str, disposition: str, name: str | None) -> None:
        self._keep(part, ctype, disposition, name, _payload_bytes(part, self.problems))

    def _keep(
        self, part: Message, ctype: str, disposition: str, name: str | None, data: bytes
    ) -> None:
        self._seen_attachments += 1
        limits = self.limits
        filename = _safe_filename(name, ctype, self._seen_attachments, self.problems)
        sniffed = _sniff(data)
        if sniffed and sniffed != ctype and not _compatible(ctype, sniffed):
            self.problems.append(
                f"attachment {filename!r}: declared content type {ctype}, its bytes are {sniffed}"
            )
            ctype = sniffed
        if len(self.attachments) >= limits.max_attachments:
            if len(self.attachments) == limits.max_attachments:
                self.problems.append(
                    f"attachment limit of {limits.max_attachments} reached, the rest dropped"
                )
            return
        if len(data) > limits.max_attachment_bytes:
            self.problems.append(f"attachment {filename!r} too large ({len(data)} bytes), dropped")
            return
        if _is_zip(data):
            bomb = _zip_bomb(data, limits)
            if bomb:
                self.problems.append(f"attachment {filename!r} dropped: zip bomb ({bomb})")
                return
        content_id = (part.get("Content-ID") or "").strip().strip("<>") or None
        inline = disposition == "inline" or (disposition != "attachment" and content_id is not None)
        self.attachments.append(
            MailAttachment(
                filename=filename,
                content_type=ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                inline=inline,
                data=data,
                content_id=content_id,
            )
        )

    def readable(self) -> str:
        if any(t.strip() for t in self.plain):
            text = "\n\n".join(t for t in self.plain if t.strip())
        elif self.html:
            text = "\n\n".join(html_to_text(h) for h in self.html)
        else:
            text = ""
        return _tidy(text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail; quoted earlier messages are kept behind a marker line,
    so the new text can be told from them."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head", "title"]):
        tag.decompose()
    for quote in soup.find_all(["blockquote"]):
        quote.insert_before("\n-----原始邮件-----\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table"]):
        block.insert_after("\n")
    return soup.get_text()


def _tidy(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip()


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _payload_bytes(part: Message, problems: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        problems.append("undecodable part payload")
        return b""
    for defect in getattr(part, "defects", []):
        name = type(defect).__name__
        if "Base64" in name:
            problems.append("bad base64 in a part, decoded as far as possible")
    return data if isinstance(data, bytes) else b""


def _payload_text(part: Message, problems: list[str]) -> str:
    data = _payload_bytes(part, problems)
    label = part.get_param("charset")
    label = label if isinstance(label, str) else None
    text = decode_bytes(data, label, problems, "body")
    if str(part.get_param("format") or "").lower() == "flowed":
        text = _unflow(text, str(part.get_param("delsp") or "").lower() == "yes")
    return text


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676: a line ending in a space continues on the next (not in quotes or "-- ")."""
    out: list[str] = []
    carry = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line != "-- " and not line.startswith(">"):
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _filename(part: Message) -> str | None:
    raw = _raw_filename(part)
    if raw is not None and "\\" in raw:  # unquoting would eat the backslashes of a path
        return raw
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    if isinstance(name, str) and "=?" in name:  # RFC 2047 words in a parameter (Outlook, QQ)
        name = decode_header_value(name, [], "filename")
    if any("\udc80" <= ch <= "\udcff" for ch in name):  # raw 8-bit bytes (GBK) in the name
        name = decode_header_value(name, [], "filename")
    return str(name)


def _raw_filename(part: Message) -> str | None:
    raw = {name.lower(): str(value) for name, value in part.raw_items()}
    for header in ("content-disposition", "content-type"):
        match = re.search(r'(?:file)?name="([^"]*)"', raw.get(header, ""), re.I)
        if match:
            return match.group(1)
    return None


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
)


def _sniff(data: bytes) -> str | None:
    """The type the first bytes show, for the few formats that announce themselves."""
    return next((ctype for magic, ctype in _MAGIC if data.startswith(magic)), None)


def _compatible(declared: str, sniffed: str) -> bool:
    """Office files and other ZIP containers are ZIP inside; generic types say nothing."""
    if declared in {"application/octet-stream", "application/x-download", "binary/octet-stream"}:
        return True
    if sniffed == "application/zip":
        return "zip" in declared or "officedocument" in declared or "opendocument" in declared \
            or declared.startswith("application/")
    return False


def _safe_filename(name: str | None, ctype: str, n: int, problems: list[str]) -> str:
    if not name:
        extension = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}
        return f"attachment-{n}{extension.get(ctype, '')}"
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", name)
    base = re.split(r"[/\\]", cleaned)[-1].strip().lstrip(".")
    if base != name:
        problems.append(f"unsafe attachment filename {name!r} reduced to {base!r}")
    return base or f"attachment-{n}"


def _is_zip(data: bytes) -> bool:
    """Any ZIP container (also .docx/.xlsx, which could be bombs just the same)."""
    return data[:4] == b"PK\x03\x04"


def _zip_bomb(data: bytes, limits: MailLimits) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            members = len(archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None  # not an archive after all (an Office file is checked the same way)
    if unpacked > limits.max_unpacked_bytes:
        return f"{members} members unpack to {unpacked} bytes"
    if data and unpacked / len(data) > limits.max_unpacked_ratio:
        return f"unpacks {unpacked // max(len(data), 1)} times its size"
    return None


def _defects(msg: Message) -> list[str]:
    found = []
    for part in msg.walk():
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if "Boundary" in name or "StartBoundary" in name or "MultipartInvariant" in name:
                found.append("broken mime structure (missing boundary)")
            elif "Header" in name and "Missing" not in name:
                found.append("malformed header")
    return found


def _automatic(
    msg: Message, headers: _Headers, subject: str, sender: str | None, body: _Body
) -> tuple[str | None, str | None]:
    """Why no person wrote this mail, if none did: (kind, the failed recipient of a bounce)."""
    ctype = _content_type(msg)
    report = ctype == "multipart/report" and (
        (msg.get_param("report-type") or "") == "delivery-status"
    )
    if report or body.delivery_status or (sender and _DAEMON.match(sender)):
        return "bounce", _failed_recipient(body.delivery_status)
    auto_submitted = headers.get("Auto-Submitted").lower()
    if _OOO_SUBJECT.match(subject) or headers.raw("X-Autoreply") or headers.raw("X-Autorespond"):
        return "out-of-office", None
    if auto_submitted and auto_submitted != "no":
        return "auto-submitted", None
    precedence = headers.get("Precedence").lower()
    if precedence == "auto_reply":  # what some autoresponders use instead of Auto-Submitted
        return "out-of-office", None
    if precedence in {"bulk", "junk", "list"} or headers.raw("List-Id"):
        return "bulk", None
    return None, None


def _failed_recipient(reports: list[str]) -> str | None:
    for report in reports:
        match = re.search(
            r"^(?:Final|Original)-Recipient:\s*[^;]*;\s*<?([^\s<>]+@[^\s<>]+)>?",
            report, re.I | re.M,
        )
        if match:
            return match.group(1).lower()
    return None


def _status_fields(part: Message, problems: list[str]) -> str:
    """The fields of a message/delivery-status part, as text (the parser makes each block of
    fields a sub-message; a part it could not split is read as plain text)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(f"{k}: {v}" for block in payload for k, v in block.items())
    return _payload_text(part, problems)
