"""Tests for channels.wechat.protocol: official vectors, crypto edge cases, safe XML, messages."""

from __future__ import annotations

import base64
import struct
import xml.parsers.expat

import pytest
import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.crypto.cryptography import WeChatCipher

from channels.wechat import protocol
from channels.wechat.protocol import (
    BadRequest,
    BadSignature,
    EntitiesRefused,
    StaleRequest,
    TooLarge,
    WechatRequestError,
    aes_key_bytes,
    build_message_xml,
    cdata,
    check_fresh,
    check_msg_signature,
    check_signature,
    decrypt,
    encrypt,
    envelope,
    inbound_envelope,
    message_from_fields,
    parse_xml,
    signature,
    text_reply,
)

# Official sample values (§4).
TOKEN = "pamtest"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wxb11529c136998cb6"
TIMESTAMP = "1409304348"
NONCE = "xxxxxx"
PREFIX = b"aaaabbbbccccdddd"
SAMPLE_PLAIN = "我是中文abcd123"
SAMPLE_CIPHER = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
OTHER_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
GH = "gh_0123456789ab"
OPENID = "oUSER_0123456789abcdefghijk"
MAX = 1 << 20


def _seal(key: str, padded: bytes) -> str:
    """Encrypt already-padded plaintext, to craft malformed inner structures."""
    return base64.b64encode(WeChatCipher(aes_key_bytes(key)).encrypt(padded)).decode()


def _inner(msg: bytes, appid: bytes = APPID.encode(), msg_len: int | None = None) -> bytes:
    n = len(msg) if msg_len is None else msg_len
    return PREFIX + struct.pack(">I", n) + msg + appid


def _pad(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def _text_fields(**extra: str | int) -> dict[str, str | int]:
    fields: dict[str, str | int] = {
        "ToUserName": GH,
        "FromUserName": OPENID,
        "CreateTime": 1700000000,
        "MsgType": "text",
        "Content": "打印机卡纸",
        "MsgId": "23456789012345678",
    }
    fields.update(extra)
    return fields


def _fields(**extra: str) -> dict[str, str]:
    return {k: str(v) for k, v in _text_fields(**extra).items()}


class ParserReached(BaseException):
    """Raised by the patched parser; BaseException so no `except Exception` can swallow it."""


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise ParserReached

    monkeypatch.setattr(xmltodict, "parse", boom)
    monkeypatch.setattr(xml.parsers.expat, "ParserCreate", boom)


# --- errors -----------------------------------------------------------------------------------


def test_error_statuses_and_hierarchy() -> None:
    assert BadSignature("x").status == 403
    assert StaleRequest("x").status == 403
    assert BadRequest("x").status == 400
    assert EntitiesRefused("x").status == 400
    assert TooLarge("x").status == 413
    assert issubclass(EntitiesRefused, BadRequest)
    for cls in (BadSignature, StaleRequest, BadRequest, TooLarge):
        assert issubclass(cls, WechatRequestError)
    assert BadRequest("malformed XML").reason == "malformed XML"


# --- signatures -------------------------------------------------------------------------------


def test_url_verification_official_vector() -> None:
    expected = "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert signature("AAAAA", "1714036504", "1514711492") == expected
    assert signature("1514711492", "AAAAA", "1714036504") == expected  # order-independent
    assert check_signature("AAAAA", expected, "1714036504", "1514711492") is None


def test_check_signature_rejects_wrong_values() -> None:
    good = signature("AAAAA", "1714036504", "1514711492")
    with pytest.raises(BadSignature) as err:
        check_signature("AAAAA", good, "1714036505", "1514711492")
    assert err.value.status == 403
    with pytest.raises(BadSignature):
        check_signature("BBBBB", good, "1714036504", "1514711492")
    with pytest.raises(BadSignature):
        check_signature("AAAAA", good.upper(), "1714036504", "1514711492")
    with pytest.raises(BadSignature):  # non-ASCII must not turn into a TypeError
        check_signature("AAAAA", "签名" + good[2:], "1714036504", "1514711492")
    with pytest.raises(BadSignature):
        check_signature("AAAAA", "", "1714036504", "1514711492")


def test_check_msg_signature_covers_encrypt() -> None:
    sig = signature(TOKEN, TIMESTAMP, NONCE, SAMPLE_CIPHER)
    assert check_msg_signature(TOKEN, sig, TIMESTAMP, NONCE, SAMPLE_CIPHER) is None
    with pytest.raises(BadSignature) as err:
        check_msg_signature(TOKEN, sig, TIMESTAMP, NONCE, SAMPLE_CIPHER[:-4] + "AAA=")
    assert err.value.reason == "bad msg_signature"
    with pytest.raises(BadSignature):
        check_msg_signature(TOKEN, sig, TIMESTAMP, "yyyyyy", SAMPLE_CIPHER)
    with pytest.raises(BadSignature):  # the plain `signature` is not the msg_signature
        check_msg_signature(TOKEN, signature(TOKEN, TIMESTAMP, NONCE), TIMESTAMP, NONCE,
                            SAMPLE_CIPHER)


def test_check_fresh_window() -> None:
    assert check_fresh("700", now=1000.0, window_s=300) == 700
    assert check_fresh("1300", now=1000.0, window_s=300) == 1300
    with pytest.raises(StaleRequest) as err:
        check_fresh("699", now=1000.0, window_s=300)
    assert err.value.status == 403
    with pytest.raises(StaleRequest):
        check_fresh("1301", now=1000.0, window_s=300)  # from the future


@pytest.mark.parametrize("ts", ["", "abc", "-5", "1.5", " 1000", "１０００", "1" * 13])
def test_check_fresh_rejects_non_digits(ts: str) -> None:
    with pytest.raises(BadRequest) as err:
        check_fresh(ts, now=1000.0, window_s=10**15)
    assert err.value.reason == "bad timestamp"


# --- crypto -----------------------------------------------------------------------------------


def test_aes_key_bytes() -> None:
    key = aes_key_bytes(KEY)
    assert len(key) == 32
    assert key == base64.b64decode(KEY + "=")
    for bad in (KEY[:-1], KEY + "A", KEY[:-1] + "+", KEY[:-1] + "=", ""):
        with pytest.raises(ValueError):
            aes_key_bytes(bad)


def test_encrypt_official_vector() -> None:
    assert encrypt(SAMPLE_PLAIN, KEY, APPID, random_prefix=PREFIX) == SAMPLE_CIPHER


def test_decrypt_official_vector() -> None:
    assert decrypt(SAMPLE_CIPHER, [KEY], APPID) == SAMPLE_PLAIN


def test_encrypt_uses_random_prefix_by_default() -> None:
    a, b = encrypt("x", KEY, APPID), encrypt("x", KEY, APPID)
    assert a != b
    assert decrypt(a, [KEY], APPID) == decrypt(b, [KEY], APPID) == "x"
    with pytest.raises(ValueError):
        encrypt("x", KEY, APPID, random_prefix=b"short")


def test_padding_is_to_32_bytes() -> None:
    for n in range(0, 70):
        raw = base64.b64decode(encrypt("a" * n, KEY, APPID, random_prefix=PREFIX))
        assert len(raw) % 32 == 0
        assert len(raw) == 32 * ((16 + 4 + n + len(APPID)) // 32 + 1)
        assert decrypt(base64.b64encode(raw).decode(), [KEY], APPID) == "a" * n


def test_envelope_round_trip() -> None:
    reply = text_reply(OPENID, GH, "已受理 GD-0001", 1700000000)
    xml = envelope(reply, TOKEN, KEY, APPID, TIMESTAMP, NONCE)
    fields = parse_xml(xml.encode(), MAX)
    assert set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert fields["TimeStamp"] == TIMESTAMP
    assert fields["Nonce"] == NONCE
    check_msg_signature(TOKEN, fields["MsgSignature"], TIMESTAMP, NONCE, fields["Encrypt"])
    assert decrypt(fields["Encrypt"], [KEY], APPID) == reply
    # wechatpy (what the WeChat side does) accepts our reply envelope too.
    assert WeChatCrypto(TOKEN, KEY, APPID).decrypt_message(
        xml, fields["MsgSignature"], TIMESTAMP, NONCE
    ) == reply
    with pytest.raises(ValueError):
        envelope(reply, TOKEN, KEY, APPID, "12a", NONCE)


def test_inbound_envelope_round_trip() -> None:
    inner = build_message_xml(_text_fields())
    body, msg_signature = inbound_envelope(inner, TOKEN, KEY, APPID, GH, TIMESTAMP, NONCE)
    outer = parse_xml(body, MAX)
    assert outer["ToUserName"] == GH
    assert set(outer) == {"ToUserName", "Encrypt"}
    check_msg_signature(TOKEN, msg_signature, TIMESTAMP, NONCE, outer["Encrypt"])
    plain = decrypt(outer["Encrypt"], [KEY], APPID)
    assert plain == inner
    msg = message_from_fields(parse_xml(plain.encode(), MAX))
    assert msg.content == "打印机卡纸"
    assert msg.from_user == OPENID
    assert WeChatCrypto(TOKEN, KEY, APPID).decrypt_message(
        body, msg_signature, TIMESTAMP, NONCE
    ) == inner


def test_decrypts_wechatpy_output() -> None:
    xml = WeChatCrypto(TOKEN, KEY, APPID).encrypt_message("<xml><A>中</A></xml>", NONCE, TIMESTAMP)
    fields = parse_xml(xml.encode(), MAX)
    check_msg_signature(TOKEN, fields["MsgSignature"], TIMESTAMP, NONCE, fields["Encrypt"])
    assert decrypt(fields["Encrypt"], [KEY], APPID) == "<xml><A>中</A></xml>"


def test_wrong_appid() -> None:
    with pytest.raises(BadRequest) as err:
        decrypt(SAMPLE_CIPHER, [KEY], "wx0000000000000000")
    assert err.value.reason == "wrong AppId"
    # A failing fallback key does not hide the more telling error of the right key.
    with pytest.raises(BadRequest) as err:
        decrypt(SAMPLE_CIPHER, [OTHER_KEY, KEY], "wx0000000000000000")
    assert err.value.reason == "wrong AppId"
    with pytest.raises(BadRequest) as err:
        decrypt(SAMPLE_CIPHER, [KEY, OTHER_KEY], "wx0000000000000000")
    assert err.value.reason == "wrong AppId"


def test_fallback_key() -> None:
    cipher = encrypt("<xml/>", KEY, APPID, random_prefix=PREFIX)
    assert decrypt(cipher, [OTHER_KEY, KEY], APPID) == "<xml/>"  # rotated: old key second
    assert decrypt(cipher, [KEY, OTHER_KEY], APPID) == "<xml/>"
    with pytest.raises(BadRequest) as err:
        decrypt(cipher, [OTHER_KEY], APPID)
    assert err.value.status == 400
    assert err.value.reason in {"bad padding", "bad message length", "content not UTF-8"}


def test_decrypt_needs_a_key_list() -> None:
    with pytest.raises(ValueError):
        decrypt(SAMPLE_CIPHER, [], APPID)
    with pytest.raises(ValueError):
        decrypt(SAMPLE_CIPHER, KEY, APPID)  # a bare str would iterate characters
    with pytest.raises(ValueError):
        decrypt(SAMPLE_CIPHER, ["short"], APPID)


def test_tampered_ciphertext() -> None:
    raw = bytearray(base64.b64decode(SAMPLE_CIPHER))
    raw[-17] ^= 0x01  # CBC: flips the last plaintext byte, i.e. the padding length
    with pytest.raises(BadRequest) as err:
        decrypt(base64.b64encode(bytes(raw)).decode(), [KEY], APPID)
    assert err.value.reason == "bad padding"


def test_padding_checked_in_full() -> None:
    data = _inner(b"<xml/>")
    padded = bytearray(_pad(data))
    n = padded[-1]
    assert n >= 2
    padded[-2] = (n + 1) % 256  # wrong byte other than the last
    crafted = _seal(KEY, bytes(padded))
    # wechatpy only looks at the last byte and accepts it ...
    assert PrpCrypto(aes_key_bytes(KEY)).decrypt(crafted, APPID) == "<xml/>"
    # ... we do not.
    with pytest.raises(BadRequest) as err:
        decrypt(crafted, [KEY], APPID)
    assert err.value.reason == "bad padding"


@pytest.mark.parametrize("last", [0, 33, 255])
def test_padding_value_out_of_range(last: int) -> None:
    data = _inner(b"<xml/>")
    data += b"\x00" * (31 - len(data) % 32) + bytes([last])
    with pytest.raises(BadRequest) as err:
        decrypt(_seal(KEY, data), [KEY], APPID)
    assert err.value.reason == "bad padding"


def test_message_length_must_fit() -> None:
    crafted = _seal(KEY, _pad(_inner(b"<xml/>", msg_len=10_000)))
    with pytest.raises(BadRequest) as err:
        decrypt(crafted, [KEY], APPID)
    assert err.value.reason == "bad message length"


def test_content_must_be_utf8() -> None:
    crafted = _seal(KEY, _pad(_inner(b"<xml>\xff\xfe</xml>")))
    with pytest.raises(BadRequest) as err:
        decrypt(crafted, [KEY], APPID)
    assert err.value.reason == "content not UTF-8"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64!!", "invalid base64"),
        ("中文", "invalid base64"),
        (SAMPLE_CIPHER[:10] + "!" + SAMPLE_CIPHER[10:], "invalid base64"),  # strict alphabet
        (SAMPLE_CIPHER[:10] + "\n" + SAMPLE_CIPHER[10:], "invalid base64"),
        (SAMPLE_CIPHER[:-2], "invalid base64"),  # missing padding
        (base64.b64encode(b"x" * 16).decode(), "bad ciphertext length"),
        (base64.b64encode(b"x" * 33).decode(), "bad ciphertext length"),
        ("", "bad ciphertext length"),
    ],
)
def test_invalid_ciphertext(value: str, reason: str) -> None:
    with pytest.raises(BadRequest) as err:
        decrypt(value, [KEY], APPID)
    assert err.value.reason == reason


# --- safe XML ---------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<xml><Content>&lol3;</Content></xml>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_x</ToUserName><Content>&xxe;</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        XXE,
        b"<!DOCTYPE xml><xml><A>1</A></xml>",
        b"<!doctype xml><xml><A>1</A></xml>",
        b'\xef\xbb\xbf  \n<!DocType xml SYSTEM "http://evil.example/x.dtd"><xml/>',
    ],
)
def test_entities_refused_before_parsing(no_parser: None, body: bytes) -> None:
    with pytest.raises(EntitiesRefused) as err:
        parse_xml(body, MAX)
    assert err.value.status == 400
    assert isinstance(err.value, BadRequest)


def test_no_parser_fixture_detects_parsing(no_parser: None) -> None:
    with pytest.raises(ParserReached):
        parse_xml(b"<xml><A>1</A></xml>", MAX)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_doctype_cannot_sneak_past(no_parser: None, encoding: str) -> None:
    body = '<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>'.encode(encoding)
    with pytest.raises(BadRequest) as err:
        parse_xml(body, MAX)
    assert err.value.reason in {"body is not UTF-8", "NUL byte in body"}


def test_expat_autodetects_utf16_even_when_told_utf8() -> None:
    # Why parse_xml refuses non-UTF-8 bodies before parsing: the byte-level DTD check only
    # sees UTF-8, yet expat follows a UTF-16 BOM or a "<\0" start whatever encoding it is given.
    for encoding in ("utf-16", "utf-16-le"):
        doc = xmltodict.parse("<xml><A>x</A></xml>".encode(encoding), encoding="utf-8")
        assert doc == {"xml": {"A": "x"}}


def test_parser_entity_error_maps_to_entities_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Defence in depth: with the pre-check disabled, xmltodict's own refusal still maps right.
    monkeypatch.setattr(protocol, "_DTD", protocol.re.compile(rb"(?!x)x"))
    with pytest.raises(EntitiesRefused) as err:
        parse_xml(BILLION_LAUGHS, MAX)
    assert err.value.reason == "DTD declaration"


def test_doctype_after_a_comment_is_refused_by_the_parser() -> None:
    # the pre-check reads only up to "<xml"; a comment holding "<xml" does not get a DTD past
    body = b'<!-- <xml --><!DOCTYPE x [<!ENTITY a "b">]><xml><Content>&a;</Content></xml>'
    with pytest.raises(EntitiesRefused) as err:
        parse_xml(body, MAX)
    assert err.value.reason == "DTD declaration"


def test_quoted_doctype_in_a_message_is_text() -> None:
    # a user pasting an HTML error page is not an attack: a DTD can only precede the root
    body = b"<xml><Content><![CDATA[<!DOCTYPE html><html>500</html>]]></Content></xml>"
    assert parse_xml(body, MAX) == {"Content": "<!DOCTYPE html><html>500</html>"}


def test_entity_declaration_after_the_root_is_malformed() -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(b'<xml><A>1</A></xml><!ENTITY a "b">', MAX)
    assert err.value.reason == "malformed XML"


def test_too_large() -> None:
    body = b"<xml><Content>" + b"a" * 100 + b"</Content></xml>"
    assert parse_xml(body, len(body)) == {"Content": "a" * 100}
    with pytest.raises(TooLarge) as err:
        parse_xml(body, len(body) - 1)
    assert err.value.status == 413


def test_too_large_checked_first(no_parser: None) -> None:
    with pytest.raises(TooLarge):
        parse_xml(BILLION_LAUGHS, 10)


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<xml>", b"<xml><A>1</xml>", b"not xml", b"<xml/><xml/>", b"<xml>&bogus;</xml>",
     b"\xff\xfe<xml/>"],
)
def test_malformed(body: bytes) -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(body, MAX)
    assert err.value.reason in {"malformed XML", "body is not UTF-8"}


def test_wrong_root() -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(b"<root><A>1</A></root>", MAX)
    assert err.value.reason == "root element must be xml"


def test_repeated_element() -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(b"<xml><Content>a</Content><Content>b</Content></xml>", MAX)
    assert err.value.reason == "repeated field Content"


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Content><B>1</B></Content></xml>",
        b'<xml><Content lang="zh">1</Content></xml>',
        b"<xml><Content>a<B/>b</Content></xml>",
    ],
)
def test_nested_or_attributed_element(body: bytes) -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(body, MAX)
    assert err.value.reason == "non-text field Content"


def test_text_outside_fields() -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml(b"<xml>junk<A>1</A></xml>", MAX)
    assert err.value.reason == "text outside fields"
    assert parse_xml(b"<xml>\n  <A>1</A>\n</xml>", MAX) == {"A": "1"}
    assert parse_xml(b"<xml/>", MAX) == {}
    assert parse_xml(b"<xml>  </xml>", MAX) == {}


def test_unused_nested_event_structures_are_dropped() -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><MsgType><![CDATA[event]]></MsgType>"
        b"<Event><![CDATA[subscribe_msg_popup_event]]></Event>"
        b"<List><TemplateId>t1</TemplateId><SubscribeStatusString>accept</SubscribeStatusString>"
        b"</List><List><TemplateId>t2</TemplateId></List>"
        b"<ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>"
    )
    assert parse_xml(body, MAX) == {
        "ToUserName": "gh_x",
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
    }


def test_values_are_strings_and_exact() -> None:
    body = (
        "<xml><A><![CDATA[  两 行\n 内容 ]]></A><B/><C></C><D>12</D>"
        "<E>a &lt;b&gt; &amp; &#20013;</E></xml>"
    ).encode()
    assert parse_xml(body, MAX) == {
        "A": "  两 行\n 内容 ",
        "B": "",
        "C": "",
        "D": "12",
        "E": "a <b> & 中",
    }


def test_declared_encoding_is_ignored() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><xml><A>中文</A></xml>'.encode()
    assert parse_xml(body, MAX) == {"A": "中文"}


def test_field_names_in_reasons_are_sanitised() -> None:
    with pytest.raises(BadRequest) as err:
        parse_xml("<xml><名字>a</名字><名字>b</名字></xml>".encode(), MAX)
    assert err.value.reason == "repeated field (unprintable name)"


# --- messages ---------------------------------------------------------------------------------


def test_text_message() -> None:
    msg = message_from_fields(parse_xml(build_message_xml(_text_fields()).encode(), MAX))
    assert msg.to_user == GH
    assert msg.from_user == OPENID
    assert msg.create_time == 1700000000
    assert msg.msg_type == "text"
    assert msg.msg_id == "23456789012345678"
    assert msg.content == "打印机卡纸"
    assert msg.event is None
    assert msg.media_id is None
    assert msg.location_x is None
    assert msg.dedupe_key == "msg:23456789012345678"


def test_event_message_and_dedupe_key() -> None:
    fields = {
        "ToUserName": GH,
        "FromUserName": OPENID,
        "CreateTime": "1700000001",
        "MsgType": "EVENT",
        "Event": "SCAN",
        "EventKey": "123",
        "Ticket": "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2lzQUtPR1Rs",
    }
    msg = message_from_fields(fields)
    assert msg.msg_type == "event"
    assert msg.event == "scan"
    assert msg.event_key == "123"
    assert msg.msg_id is None
    assert msg.dedupe_key == f"event:{OPENID}:1700000001:scan"
    subscribe = message_from_fields({**fields, "Event": "subscribe", "EventKey": ""})
    assert subscribe.event_key is None
    assert subscribe.dedupe_key == f"event:{OPENID}:1700000001:subscribe"


def test_location_and_other_types() -> None:
    msg = message_from_fields(
        {**_fields(MsgType="location", Location_X="22.817002", Location_Y="108.366543",
                   Scale="15", Label="南宁市青秀区")}
    )
    assert msg.location_x == pytest.approx(22.817002)
    assert msg.location_y == pytest.approx(108.366543)
    assert msg.scale == "15"
    assert msg.label == "南宁市青秀区"
    voice = message_from_fields(
        _fields(MsgType="voice", MediaId="m1", Format="amr", Recognition="")
    )
    assert (voice.media_id, voice.format, voice.recognition) == ("m1", "amr", "")
    link = message_from_fields(
        _fields(MsgType="link", Title="t", Description="d", Url="https://x.example/")
    )
    assert (link.title, link.description, link.url) == ("t", "d", "https://x.example/")


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "91", ""])
def test_bad_location(value: str) -> None:
    fields = _fields(MsgType="location", Location_X=value, Location_Y="108.3")
    if value == "":
        assert message_from_fields(fields).location_x is None
        return
    with pytest.raises(BadRequest) as err:
        message_from_fields(fields)
    assert err.value.reason == "bad Location_X"


@pytest.mark.parametrize("name", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_missing_required_field(name: str) -> None:
    fields = _fields()
    del fields[name]
    with pytest.raises(BadRequest) as err:
        message_from_fields(fields)
    assert err.value.reason == f"missing field {name}"
    fields[name] = ""
    with pytest.raises(BadRequest) as err:
        message_from_fields(fields)
    assert err.value.reason == f"missing field {name}"


@pytest.mark.parametrize(
    "value", ["17e8", "-1", "1.5", "０１２", "²", str(2**40), "9" * 20, "9" * 21]
)
def test_bad_create_time(value: str) -> None:
    with pytest.raises(BadRequest) as err:
        message_from_fields(_fields(CreateTime=value))
    assert err.value.reason in {"bad CreateTime", "field CreateTime too long"}


def test_largest_create_time() -> None:
    assert message_from_fields(_fields(CreateTime=str(2**40 - 1))).create_time == 2**40 - 1


@pytest.mark.parametrize("value", ["abc", "12 34", "１２"])
def test_bad_msg_id(value: str) -> None:
    with pytest.raises(BadRequest) as err:
        message_from_fields(_fields(MsgId=value))
    assert err.value.reason == "bad MsgId"


def test_length_bounds() -> None:
    assert message_from_fields(_fields(FromUserName="o" * 64)).from_user == "o" * 64
    with pytest.raises(BadRequest) as err:
        message_from_fields(_fields(FromUserName="o" * 65))
    assert err.value.reason == "field FromUserName too long"
    assert len(message_from_fields(_fields(Content="字" * 10_000)).content) == 10_000
    with pytest.raises(BadRequest) as err:
        message_from_fields(_fields(Content="字" * 10_001))
    assert err.value.reason == "field Content too long"


def test_unknown_fields_ignored() -> None:
    msg = message_from_fields(_fields(MsgDataId="1", Idx="2", Whatever="x"))
    assert msg.content == "打印机卡纸"


def test_message_is_frozen() -> None:
    msg = message_from_fields(_fields())
    with pytest.raises(AttributeError):
        msg.content = "x"  # type: ignore[misc]


def test_build_message_xml() -> None:
    xml = build_message_xml({"A": "x]]>y", "B": 7})
    assert xml == "<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A><B>7</B></xml>"
    assert parse_xml(xml.encode(), MAX) == {"A": "x]]>y", "B": "7"}
    with pytest.raises(ValueError):
        build_message_xml({"bad name": "x"})


# --- replies ----------------------------------------------------------------------------------


def test_cdata() -> None:
    assert cdata("abc") == "<![CDATA[abc]]>"
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    assert cdata("a\x00b\x1fc\ud800d\ufffe") == "<![CDATA[abcd]]>"  # XML-illegal chars dropped
    assert cdata("") == "<![CDATA[]]>"


def test_text_reply_format() -> None:
    assert text_reply(OPENID, GH, "已受理 GD-0001", 1700000000) == (
        f"<xml><ToUserName><![CDATA[{OPENID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{GH}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[已受理 GD-0001]]></Content></xml>"
    )
    with pytest.raises(ValueError):
        text_reply(OPENID, GH, "", 1700000000)


@pytest.mark.parametrize(
    "content",
    [
        "a]]>b",
        "]]>",
        "]]]]>",
        "<![CDATA[x]]>",
        "x]]>]]>y",
        "  lead\n\ttrail  ",
        "我是中文abcd123 ]]>",
    ],
)
def test_text_reply_round_trips(content: str) -> None:
    fields = parse_xml(text_reply(OPENID, GH, content, 1700000000).encode(), MAX)
    assert fields == {
        "ToUserName": OPENID,
        "FromUserName": GH,
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": content,
    }


def test_chinese_round_trip_through_safe_mode() -> None:
    content = "工单 GD-0001 已受理：工程师明天上午到南宁市青秀区 ]]> 😀"
    reply = text_reply(OPENID, GH, content, 1700000000)
    xml = envelope(reply, TOKEN, KEY, APPID, TIMESTAMP, NONCE)
    outer = parse_xml(xml.encode(), MAX)
    check_msg_signature(TOKEN, outer["MsgSignature"], TIMESTAMP, NONCE, outer["Encrypt"])
    inner = parse_xml(decrypt(outer["Encrypt"], [KEY], APPID).encode(), MAX)
    assert inner["Content"] == content
