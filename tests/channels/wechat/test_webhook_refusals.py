"""Everything the webhook must refuse, over real HTTP: each answer is a clear 4xx, nothing is
stored, the query string never reaches the log, and the service keeps answering."""

from __future__ import annotations

import logging

import pytest

from channels.wechat import protocol
from tests.channels.wechat.conftest import (
    ACCOUNT,
    AES_KEY,
    APPID,
    OLD_AES_KEY,
    TOKEN,
    WechatDesk,
)

ALICE = "oAlice_0000000000000000000001"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>x</FromUserName>"
    "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content>"
    "<MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><Content>&xxe;</Content></xml>"
)


async def _still_serving(service: WechatDesk) -> None:
    reply = await service.wechat.text(ALICE, "打印机坏了")
    assert reply.status == 200 and "工单号" in reply.content


async def test_url_verification(service: WechatDesk) -> None:
    q = {"timestamp": "1714036504", "nonce": "1514711492", "echostr": "4375120948345356249"}
    signature = protocol.signature(TOKEN, q["timestamp"], q["nonce"])
    ok = await service.http.get(service.wechat.url, params=q | {"signature": signature})
    assert ok.status == 200 and await ok.text() == "4375120948345356249"
    forged = await service.http.get(service.wechat.url, params=q | {"signature": "0" * 40})
    assert forged.status == 403


@pytest.mark.parametrize("what", ["signature", "timestamp"])
async def test_forged_or_stale_requests_are_refused(service: WechatDesk, what: str) -> None:
    wechat = service.wechat
    xml = protocol.build_message_xml(wechat.message(ALICE, Content="伪造的报告"))
    if what == "signature":
        query, body = wechat.signed(xml)
        key = "msg_signature" if wechat.safe else "signature"
        query[key] = "f" * 40
    else:
        old = str(int(service.clock().timestamp()) - 301)
        query, body = wechat.signed(xml, timestamp=old)
    reply = await wechat.post_raw(query, body)
    assert reply.status == 403
    assert await service.stored_messages() == 0
    await _still_serving(service)


async def test_a_replayed_nonce_with_another_body_is_refused(service: WechatDesk) -> None:
    wechat = service.wechat
    query, body = wechat.signed(protocol.build_message_xml(wechat.message(ALICE, Content="一")))
    assert (await wechat.post_raw(query, body)).status == 200
    # same query (a leaked log line), another body
    other = protocol.build_message_xml(wechat.message(ALICE, Content="伪造"))
    if wechat.safe:
        # safe mode: the body is signed, so another body cannot carry the old msg_signature
        _, forged = wechat.signed(other, timestamp=query["timestamp"], nonce=query["nonce"])
    else:
        forged = other.encode()
    assert (await wechat.post_raw(query, forged)).status == 403
    assert await service.stored_messages() == 1
    # WeChat retrying with the very same request is not a replay: same answer, nothing new
    again = await wechat.post_raw(query, body)
    assert again.status == 200 and "工单号" in again.content
    assert await service.stored_messages() == 1


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
async def test_entities_are_refused(service: WechatDesk, attack: str) -> None:
    reply = await service.wechat.post_raw(*service.wechat.signed(attack))
    assert reply.status == 400
    assert await service.stored_messages() == 0
    await _still_serving(service)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh_0123456789ab</ToUserName><Content>unclosed</xml>",
        "not xml at all",
        "<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName></xml>",
        "<xml><FromUserName><a>1</a></FromUserName></xml>",
        "<xml><ToUserName>gh_0123456789ab</ToUserName><MsgType>text</MsgType></xml>",
    ],
    ids=["unclosed", "not-xml", "repeated-field", "nested-field", "missing-fields"],
)
async def test_malformed_xml_is_a_400(service: WechatDesk, body: str) -> None:
    reply = await service.wechat.post_raw(*service.wechat.signed(body))
    assert reply.status == 400
    assert await service.stored_messages() == 0


async def test_a_huge_body_is_refused(service: WechatDesk) -> None:
    xml = protocol.build_message_xml(service.wechat.message(ALICE, Content="卡" * 40_000))
    reply = await service.wechat.post_raw(*service.wechat.signed(xml))
    assert reply.status == 413
    assert await service.stored_messages() == 0
    await _still_serving(service)


async def test_a_message_for_another_account_is_refused(service: WechatDesk) -> None:
    fields = service.wechat.message(ALICE, Content="hi") | {"ToUserName": "gh_somebodyelse"}
    reply = await service.wechat.send(fields)
    assert reply.status == 400
    assert await service.stored_messages() == 0


async def test_safe_mode_wrong_appid_and_undecryptable_bodies(safe_service: WechatDesk) -> None:
    wechat = safe_service.wechat
    xml = protocol.build_message_xml(wechat.message(ALICE, Content="报告"))
    ts, nonce = str(int(safe_service.clock().timestamp())), "n0nce"
    # encrypted for another account's AppId
    body, sig = protocol.inbound_envelope(xml, TOKEN, AES_KEY, "wx_other_app", ACCOUNT, ts, nonce)
    query = {"timestamp": ts, "nonce": nonce, "encrypt_type": "aes", "msg_signature": sig,
             "signature": protocol.signature(TOKEN, ts, nonce)}
    assert (await wechat.post_raw(query, body)).status == 400
    # correctly signed garbage
    garbage = "QUJDREVGR0hJSktMTU5PUA=="
    body = f"<xml><ToUserName>{ACCOUNT}</ToUserName><Encrypt>{garbage}</Encrypt></xml>".encode()
    query["msg_signature"] = protocol.signature(TOKEN, ts, nonce, garbage)
    assert (await wechat.post_raw(query, body)).status == 400
    # plaintext is refused outright in safe mode, even correctly signed
    plain_query, plain = wechat.signed(xml, safe=False)
    assert (await wechat.post_raw(plain_query, plain)).status == 400
    assert await safe_service.stored_messages() == 0
    # the previous EncodingAESKey still decrypts while WeChat switches over
    body, sig = protocol.inbound_envelope(xml, TOKEN, OLD_AES_KEY, APPID, ACCOUNT, ts, "n2")
    query |= {"nonce": "n2", "msg_signature": sig, "signature": protocol.signature(TOKEN, ts, "n2")}
    assert (await wechat.post_raw(query, body)).status == 200
    assert await safe_service.stored_messages() == 1


async def test_query_strings_never_reach_the_log(
    service: WechatDesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wechat = service.wechat
    query, body = wechat.signed(protocol.build_message_xml(wechat.message(ALICE, Content="x")))
    query["signature"] = query["msg_signature"] = "a1b2c3d4" * 5
    await wechat.post_raw(query, body)
    await wechat.text(ALICE, "正常的报告")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "wechat request refused: 403" in logged
    assert "a1b2c3d4" not in logged and query["nonce"] not in logged
