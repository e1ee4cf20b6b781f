"""WeChat Official Account server protocol: signatures, safe XML, safe-mode crypto, messages.

Pure functions and dataclasses (no I/O), following docs `wechat-protocol.md` §2–§7. Every
rejection of inbound data raises a `WechatRequestError` carrying the HTTP status to answer and a
short reason that is safe to log (no query strings, no secrets, no message content).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import re
import secrets
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.parsers import expat as pyexpat
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto.cryptography import WeChatCipher
from wechatpy.crypto.pkcs7 import PKCS7Encoder

__all__ = [
    "BadRequest",
    "BadSignature",
    "EntitiesRefused",
    "Message",
    "StaleRequest",
    "TooLarge",
    "WechatRequestError",
    "aes_key_bytes",
    "build_message_xml",
    "cdata",
    "check_fresh",
    "check_msg_signature",
    "check_signature",
    "decrypt",
    "encrypt",
    "envelope",
    "inbound_envelope",
    "message_from_fields",
    "parse_xml",
    "signature",
    "text_reply",
]


# --- errors -----------------------------------------------------------------------------------


class WechatRequestError(Exception):
    """A rejected inbound request; `status` is the HTTP status to answer, `reason` is loggable."""

    status: int = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadSignature(WechatRequestError):
    status = 403


class StaleRequest(WechatRequestError):
    status = 403


class BadRequest(WechatRequestError):
    status = 400


class EntitiesRefused(BadRequest):
    """The body contains a DTD or an entity declaration (billion laughs, XXE)."""


class TooLarge(WechatRequestError):
    status = 413


_SAFE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _name(field: str) -> str:
    """A field name fit for a log line (names come from untrusted XML)."""
    return field if _SAFE_NAME.fullmatch(field) else "(unprintable name)"


def _is_digits(value: str) -> bool:
    """ASCII digits only: str.isdigit() alone also accepts '²', '١', fullwidth digits, ..."""
    return value.isascii() and value.isdigit()


# --- signatures (§2, §4) ----------------------------------------------------------------------


def signature(*parts: str) -> str:
    """sha1 hex of the lexicographically sorted, concatenated parts."""
    return _sha1_sorted(parts)


def _sha1_sorted(parts: Sequence[str]) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _compare(expected: str, given: str) -> bool:
    # compare_digest on str needs ASCII on both sides; anything else is simply a mismatch.
    return given.isascii() and hmac.compare_digest(expected, given)


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """URL verification / plaintext-mode signature over token, timestamp and nonce."""
    if not _compare(_sha1_sorted((token, timestamp, nonce)), signature):
        raise BadSignature("bad signature")


def check_msg_signature(
    token: str, msg_signature: str, timestamp: str, nonce: str, encrypt: str
) -> None:
    """Safe-mode signature over token, timestamp, nonce and the Encrypt field."""
    if not _compare(signature(token, timestamp, nonce, encrypt), msg_signature):
        raise BadSignature("bad msg_signature")


def check_fresh(timestamp: str, now: float, window_s: int) -> int:
    """Parse the query timestamp and require |now - timestamp| <= window_s; returns it."""
    if not _is_digits(timestamp) or len(timestamp) > 12:
        raise BadRequest("bad timestamp")
    ts = int(timestamp)
    if abs(now - ts) > window_s:
        raise StaleRequest("timestamp outside window")
    return ts


# --- safe XML (§5, §12) -----------------------------------------------------------------------

# No DTD at all, so no entity can ever be declared. A DTD may only stand before the root element,
# so the raw bytes before `<xml` are checked before they reach expat (a user's text that quotes
# "<!DOCTYPE html>" inside the message stays allowed); the parser itself then refuses any
# DOCTYPE declaration it meets, before the declaration's entities are read (a comment before the
# root cannot smuggle one past). XML allows no space after "<!", the \s* is extra caution.
_DTD = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)


class _DoctypeRefused(Exception):
    pass


def _refuse_doctype(*_: object) -> None:
    raise _DoctypeRefused


class _NoDoctypeExpat:
    """The expat module as xmltodict uses it, with parsers that stop at any DOCTYPE."""

    ExpatError = ExpatError

    @staticmethod
    def ParserCreate(*args: object, **kwargs: object) -> object:  # noqa: N802 (expat's name)
        parser = pyexpat.ParserCreate(*args, **kwargs)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        return parser
# Nested structures of events we do not use: dropped instead of rejected.
_SKIPPED_FIELDS = frozenset({"List", "ScanCodeInfo", "SendPicsInfo", "SendLocationInfo"})


def parse_xml(body: bytes, max_bytes: int) -> dict[str, str]:
    """Parse `<xml>` with text-only children into a flat dict; empty elements become "".

    Refuses oversized bodies, any DTD/entity declaration (before parsing), non-UTF-8 bodies
    (expat would otherwise auto-detect UTF-16 and bypass the DTD check), repeated, nested or
    attributed children. Text is kept exactly (no whitespace stripping) except that XML itself
    normalises CR LF to LF.
    """
    if len(body) > max_bytes:
        raise TooLarge("body too large")
    root_at = body.find(b"<xml")
    if _DTD.search(body, 0, root_at if root_at >= 0 else len(body)):
        raise EntitiesRefused("DTD or entity declaration")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None
    if b"\x00" in body:  # UTF-16 without BOM is valid UTF-8 but would be auto-detected by expat
        raise BadRequest("NUL byte in body")
    try:
        doc = xmltodict.parse(
            body,
            encoding="utf-8",
            disable_entities=True,
            strip_whitespace=False,
            expat=_NoDoctypeExpat,
        )
    except _DoctypeRefused:
        raise EntitiesRefused("DTD declaration") from None
    except ValueError as exc:
        if "entities are disabled" in str(exc):
            raise EntitiesRefused("entity declaration") from None
        raise BadRequest("malformed XML") from None
    except (ExpatError, TypeError):
        raise BadRequest("malformed XML") from None
    if not isinstance(doc, dict) or list(doc) != ["xml"]:
        raise BadRequest("root element must be xml")
    root = doc["xml"]
    if root is None:
        return {}
    if isinstance(root, str):
        if root.strip():
            raise BadRequest("text outside fields")
        return {}
    fields: dict[str, str] = {}
    for name, value in root.items():
        if name.startswith("@") or name in _SKIPPED_FIELDS:
            continue  # attributes of <xml>; unused nested event structures
        if name == "#text":
            if value.strip():
                raise BadRequest("text outside fields")
            continue
        if value is None:
            fields[name] = ""
        elif isinstance(value, str):
            fields[name] = value
        elif isinstance(value, list):
            raise BadRequest(f"repeated field {_name(name)}")
        else:
            raise BadRequest(f"non-text field {_name(name)}")
    return fields


# --- safe-mode crypto (§4) --------------------------------------------------------------------

_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")
_BLOCK = 32  # WeChat pads to 32 bytes, not to the AES block size


@functools.lru_cache(maxsize=16)
def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """EncodingAESKey (43 chars [A-Za-z0-9]) → 32-byte AES key; ValueError when malformed."""
    if not _AES_KEY.fullmatch(encoding_aes_key):
        raise ValueError("EncodingAESKey must be 43 characters [A-Za-z0-9]")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # pragma: no cover - 43 base64 chars always give 32 bytes
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


class _KeyFailed(BadRequest):
    """Decryption with one key failed; `stage` orders how far it got."""

    def __init__(self, stage: int, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage


def _open(raw: bytes, key: bytes, appid: str) -> str:
    plain = WeChatCipher(key).decrypt(raw)
    pad = plain[-1]
    if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise _KeyFailed(0, "bad padding")
    body = plain[16:-pad]  # drop the random prefix and the padding
    if len(body) < 4:
        raise _KeyFailed(1, "bad message length")
    (msg_len,) = struct.unpack(">I", body[:4])
    if msg_len > len(body) - 4:
        raise _KeyFailed(1, "bad message length")
    try:
        text = body[4 : 4 + msg_len].decode("utf-8")
    except UnicodeDecodeError:
        raise _KeyFailed(2, "content not UTF-8") from None
    if body[4 + msg_len :] != appid.encode("utf-8"):
        raise _KeyFailed(3, "wrong AppId")
    return text


def decrypt(encrypt_b64: str, aes_keys: Sequence[str], appid: str) -> str:
    """Decrypt an Encrypt field with the current key, then each fallback key; inner XML text.

    Full PKCS#7 padding is checked (wechatpy checks only the last byte). When every key fails the
    error of the key that got furthest is raised, e.g. BadRequest("wrong AppId").
    """
    if isinstance(aes_keys, str) or not aes_keys:
        raise ValueError("aes_keys must be a non-empty sequence of EncodingAESKeys")
    keys = [aes_key_bytes(k) for k in aes_keys]
    try:
        raw = base64.b64decode(encrypt_b64, validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise BadRequest("invalid base64") from None
    if len(raw) < _BLOCK or len(raw) % 16:
        raise BadRequest("bad ciphertext length")
    failures: list[_KeyFailed] = []
    for key in keys:
        try:
            return _open(raw, key, appid)
        except _KeyFailed as exc:
            failures.append(exc)
    best = max(failures, key=lambda f: f.stage)  # max() keeps the first of equal stages
    raise BadRequest(best.reason)


def encrypt(
    plaintext: str, aes_key: str, appid: str, random_prefix: bytes | None = None
) -> str:
    """Encrypt as WeChat does: base64(AES-CBC(random16 | len | msg | AppID, PKCS#7 to 32))."""
    prefix = secrets.token_bytes(16) if random_prefix is None else random_prefix
    if len(prefix) != 16:
        raise ValueError("random_prefix must be 16 bytes")
    msg = plaintext.encode("utf-8")
    data = prefix + struct.pack(">I", len(msg)) + msg + appid.encode("utf-8")
    cipher = WeChatCipher(aes_key_bytes(aes_key))
    return base64.b64encode(cipher.encrypt(PKCS7Encoder.encode(data))).decode("ascii")


def _check_timestamp(timestamp: str) -> None:
    if not _is_digits(timestamp):
        raise ValueError("timestamp must be decimal digits")


def envelope(
    plaintext_xml: str, token: str, aes_key: str, appid: str, timestamp: str, nonce: str
) -> str:
    """Encrypted passive reply: <xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>."""
    _check_timestamp(timestamp)
    enc = encrypt(plaintext_xml, aes_key, appid)
    sig = signature(token, timestamp, nonce, enc)
    return (
        f"<xml><Encrypt>{cdata(enc)}</Encrypt><MsgSignature>{cdata(sig)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )


def inbound_envelope(
    plaintext_xml: str,
    token: str,
    aes_key: str,
    appid: str,
    to_user: str,
    timestamp: str,
    nonce: str,
) -> tuple[bytes, str]:
    """Play the WeChat server: safe-mode POST body and its msg_signature query parameter."""
    _check_timestamp(timestamp)
    enc = encrypt(plaintext_xml, aes_key, appid)
    body = f"<xml><ToUserName>{cdata(to_user)}</ToUserName><Encrypt>{cdata(enc)}</Encrypt></xml>"
    return body.encode("utf-8"), signature(token, timestamp, nonce, enc)


# --- messages (§5, §6) ------------------------------------------------------------------------

_MAX_OPENID = 64
_MAX_TYPE = 64
_MAX_TEXT = 10_000
_MAX_CREATE_TIME = 2**40


@dataclass(frozen=True, slots=True)
class Message:
    """An inbound message or event, validated; text fields default to "" and ids to None."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str | None
    content: str
    recognition: str
    media_id: str | None
    pic_url: str | None
    format: str | None
    location_x: float | None
    location_y: float | None
    scale: str | None
    label: str
    title: str
    description: str
    url: str | None
    event: str | None
    event_key: str | None

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; FromUserName + CreateTime + Event for events (§6)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.from_user}:{self.create_time}:{self.event}"


def _bounded(name: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise BadRequest(f"field {name} too long")
    return value


def _required(fields: Mapping[str, str], name: str, limit: int) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise BadRequest(f"missing field {name}")
    return _bounded(name, value, limit)


def _optional(fields: Mapping[str, str], name: str, limit: int = _MAX_TEXT) -> str | None:
    return _bounded(name, fields.get(name, "").strip(), limit) or None


def _text(fields: Mapping[str, str], name: str) -> str:
    return _bounded(name, fields.get(name, ""), _MAX_TEXT)


def _coordinate(fields: Mapping[str, str], name: str, limit: float) -> float | None:
    raw = fields.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"bad {name}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise BadRequest(f"bad {name}")
    return value


def message_from_fields(fields: Mapping[str, str]) -> Message:
    """Validate the flat fields of an inbound (decrypted) message; unknown fields are ignored."""
    to_user = _required(fields, "ToUserName", _MAX_OPENID)
    from_user = _required(fields, "FromUserName", _MAX_OPENID)
    create_raw = _required(fields, "CreateTime", 20)
    msg_type = _required(fields, "MsgType", _MAX_TYPE).lower()
    if not _is_digits(create_raw) or int(create_raw) >= _MAX_CREATE_TIME:
        raise BadRequest("bad CreateTime")
    msg_id = _optional(fields, "MsgId", 32)
    if msg_id is not None and not _is_digits(msg_id):
        raise BadRequest("bad MsgId")
    event = _optional(fields, "Event", _MAX_TYPE)
    return Message(
        to_user=to_user,
        from_user=from_user,
        create_time=int(create_raw),
        msg_type=msg_type,
        msg_id=msg_id,
        content=_text(fields, "Content"),
        recognition=_text(fields, "Recognition"),
        media_id=_optional(fields, "MediaId"),
        pic_url=_optional(fields, "PicUrl"),
        format=_optional(fields, "Format"),
        location_x=_coordinate(fields, "Location_X", 90.0),
        location_y=_coordinate(fields, "Location_Y", 180.0),
        scale=_optional(fields, "Scale"),
        label=_text(fields, "Label"),
        title=_text(fields, "Title"),
        description=_text(fields, "Description"),
        url=_optional(fields, "Url"),
        event=event.lower() if event else None,
        event_key=_optional(fields, "EventKey"),
    )


_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def build_message_xml(fields: Mapping[str, str | int]) -> str:
    """Play the WeChat server: `<xml>` with str values in CDATA and int values bare."""
    parts = ["<xml>"]
    for name, value in fields.items():
        if not _TAG.fullmatch(name):
            raise ValueError(f"bad element name {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"value of {name} must be str or int")
        inner = str(value) if isinstance(value, int) else cdata(value)
        parts.append(f"<{name}>{inner}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


# --- passive replies (§7) ---------------------------------------------------------------------

# Characters XML 1.0 forbids even inside CDATA (C0 controls, lone surrogates, U+FFFE/U+FFFF).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cdata(text: str) -> str:
    """CDATA section; `]]>` is split across sections, XML-illegal characters are dropped."""
    text = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """Passive text reply; the caller swaps the ids (to_user = the user's openid)."""
    if not content:
        raise ValueError("empty Content shows an error to the user; answer 'success' instead")
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )
