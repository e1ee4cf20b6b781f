"""The WeChat API emulator answers like the real API, over real HTTP (aiohttp and wechatpy)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.channels.wechat.api_emulator import CS_WINDOW, FIRST_MSGID, WechatApiEmulator

APPID = "wx0123456789abcdef"
SECRET = "s3cr3t-app-secret"
TEMPLATE = "tpl-progress"
ALICE = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
BOB = "o6_bmjrPTlm6_2sgVt7hMZOPfBOB"
START = 1_700_000_000.0
TEMPLATE_DATA = {"character_string1": {"value": "GD-0001"}, "thing2": {"value": "工程师已出发"}}


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def emulator(clock: Clock) -> AsyncIterator[WechatApiEmulator]:
    emu = WechatApiEmulator(APPID, SECRET, templates=[TEMPLATE])
    emu.clock = clock
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, token: str | None = None
) -> dict[str, Any]:
    """POST body as raw UTF-8 JSON bytes without Content-Type, the way wechatpy does."""
    params = {} if token is None else {"access_token": token}
    raw = json.dumps(body, ensure_ascii=False).encode()
    async with http.post(url, params=params, data=raw, skip_auto_headers=["Content-Type"]) as r:
        assert r.status == 200
        return await r.json()


async def stable_token(
    http: aiohttp.ClientSession, emu: WechatApiEmulator, **overrides: Any
) -> dict[str, Any]:
    body = {
        "grant_type": "client_credential",
        "appid": APPID,
        "secret": SECRET,
        "force_refresh": False,
        **overrides,
    }
    return await post(http, emu.base_url + "stable_token", body)


async def token(http: aiohttp.ClientSession, emu: WechatApiEmulator) -> str:
    return (await stable_token(http, emu))["access_token"]


def text(touser: str, content: str) -> dict[str, Any]:
    return {"touser": touser, "msgtype": "text", "text": {"content": content}}


async def send_custom(
    http: aiohttp.ClientSession, emu: WechatApiEmulator, tok: str, body: dict[str, Any]
) -> dict[str, Any]:
    return await post(http, emu.base_url + "message/custom/send", body, tok)


async def send_template(
    http: aiohttp.ClientSession, emu: WechatApiEmulator, tok: str, **fields: Any
) -> dict[str, Any]:
    body = {"touser": ALICE, "template_id": TEMPLATE, "data": TEMPLATE_DATA, **fields}
    return await post(http, emu.base_url + "message/template/send", body, tok)


async def media_get(
    http: aiohttp.ClientSession, emu: WechatApiEmulator, tok: str | None, media_id: str = "x"
) -> dict[str, Any]:
    params = {"media_id": media_id} if tok is None else {"media_id": media_id, "access_token": tok}
    async with http.get(emu.base_url + "media/get", params=params) as r:
        return await r.json()


# -- access tokens ------------------------------------------------------------------------------


async def test_base_url_is_a_local_cgi_bin(emulator: WechatApiEmulator) -> None:
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert emulator.base_url.endswith("/cgi-bin/")
    assert not emulator.base_url.endswith(":0/cgi-bin/")


async def test_stable_token_is_reused_while_valid(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    first = await stable_token(http, emulator)
    clock.now += 1000
    second = await stable_token(http, emulator)

    assert first["expires_in"] == 7200
    assert second == {"access_token": first["access_token"], "expires_in": 6200}
    assert len(first["access_token"]) >= 100
    assert emulator.token_fetches == 1
    assert emulator.requests == [("POST", "/cgi-bin/stable_token")] * 2


async def test_stable_token_is_renewed_in_its_last_five_minutes(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    old = await token(http, emulator)
    clock.now += 7200 - 299
    renewed = await stable_token(http, emulator)

    assert renewed["access_token"] != old
    assert renewed["expires_in"] == 7200
    assert (await media_get(http, emulator, old))["errcode"] == 40007  # old one still usable
    clock.now += 300
    assert (await media_get(http, emulator, old))["errcode"] == 42001
    assert emulator.token_fetches == 2


async def test_force_refresh_issues_a_new_token_and_retires_the_old(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    old = await token(http, emulator)
    new = await stable_token(http, emulator, force_refresh=True)

    assert new["access_token"] != old
    assert new["expires_in"] == 7200
    assert await media_get(http, emulator, old) == {
        "errcode": 40001,
        "errmsg": "invalid credential, access_token is invalid or not latest",
    }
    assert (await media_get(http, emulator, new["access_token"]))["errcode"] == 40007
    assert await token(http, emulator) == new["access_token"]
    assert emulator.token_fetches == 2


async def test_expired_stable_token_is_replaced(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    old = await token(http, emulator)
    clock.now += 7200

    expired = {"errcode": 42001, "errmsg": "access_token expired"}
    assert await media_get(http, emulator, old) == expired
    assert await token(http, emulator) != old
    assert emulator.token_fetches == 2


async def test_classic_token_endpoint_issues_a_new_token_every_call(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    tokens = []
    for _ in range(2):
        async with http.get(emulator.base_url + "token", params=params) as response:
            body = await response.json()
        assert body["expires_in"] == 7200
        tokens.append(body["access_token"])

    assert tokens[0] != tokens[1]
    assert (await media_get(http, emulator, tokens[0]))["errcode"] == 40007
    assert emulator.token_fetches == 2


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"secret": "wrong"}, 40125, "invalid appsecret"),
        ({"appid": "wx0000000000000000"}, 40013, "invalid appid"),
        ({"grant_type": "password"}, 40002, "invalid grant_type"),
    ],
)
async def test_bad_credentials_get_no_token(
    emulator: WechatApiEmulator,
    http: aiohttp.ClientSession,
    overrides: dict[str, str],
    errcode: int,
    errmsg: str,
) -> None:
    assert await stable_token(http, emulator, **overrides) == {"errcode": errcode, "errmsg": errmsg}
    assert emulator.token_fetches == 0


async def test_stable_token_with_a_body_that_is_not_json_is_47001(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(emulator.base_url + "stable_token", data=b"grant_type=x") as response:
        assert response.status == 200
        assert await response.json() == {"errcode": 47001, "errmsg": "data format error"}


@pytest.mark.parametrize(
    ("spoil", "errcode", "errmsg"),
    [
        ("missing", 41001, "access_token missing"),
        ("unknown", 40014, "invalid access_token"),
        ("expired", 42001, "access_token expired"),
        ("invalidated", 40001, "invalid credential, access_token is invalid or not latest"),
    ],
)
async def test_bad_access_tokens_are_refused_with_their_own_codes(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, spoil: str, errcode: int, errmsg: str
) -> None:
    emulator.user_message(ALICE)
    tok: str | None = await token(http, emulator)
    if spoil == "missing":
        tok = None
    elif spoil == "unknown":
        tok = "not-a-token"
    elif spoil == "expired":
        emulator.expire_tokens()
    else:
        emulator.invalidate_tokens()

    assert await send_custom(http, emulator, tok, text(ALICE, "hi")) == {
        "errcode": errcode,
        "errmsg": errmsg,
    }
    assert emulator.sent == []


async def test_stable_token_after_expire_tokens_is_a_new_one(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    old = await token(http, emulator)
    emulator.expire_tokens()
    new = await token(http, emulator)

    assert new != old
    assert (await media_get(http, emulator, new))["errcode"] == 40007


# -- customer-service messages ------------------------------------------------------------------


async def test_custom_text_inside_the_window_is_accepted_and_keeps_chinese(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    emulator.user_message(ALICE)
    clock.now += CS_WINDOW  # the last second of the window
    tok = await token(http, emulator)
    body = text(ALICE, "工单 GD-0001 已派单")

    assert await send_custom(http, emulator, tok, body) == {"errcode": 0, "errmsg": "ok"}
    assert emulator.sent == [{"kind": "custom", "body": body, "msgid": FIRST_MSGID}]
    assert emulator.sent[0]["body"]["text"]["content"] == "工单 GD-0001 已派单"
    assert ALICE in emulator.followers


async def test_custom_message_after_48_hours_is_45015(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    emulator.user_message(ALICE)
    clock.now += 48 * 3600 + 1
    tok = await token(http, emulator)

    assert await send_custom(http, emulator, tok, text(ALICE, "迟到的回复")) == {
        "errcode": 45015,
        "errmsg": "response out of time limit or subscription is canceled",
    }
    assert emulator.sent == []


async def test_user_message_at_a_given_time_and_close_window(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.user_message(ALICE, at=START - CS_WINDOW - 1)
    emulator.user_message(BOB)
    emulator.close_window(BOB)
    tok = await token(http, emulator)

    assert (await send_custom(http, emulator, tok, text(ALICE, "a")))["errcode"] == 45015
    assert (await send_custom(http, emulator, tok, text(BOB, "b")))["errcode"] == 45015
    emulator.user_message(BOB)
    assert (await send_custom(http, emulator, tok, text(BOB, "b")))["errcode"] == 0


async def test_sixth_message_in_a_window_is_45047_until_the_user_writes_again(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.user_message(ALICE)
    tok = await token(http, emulator)
    codes = [
        (await send_custom(http, emulator, tok, text(ALICE, f"第{n}条")))["errcode"]
        for n in range(1, 7)
    ]

    assert codes == [0, 0, 0, 0, 0, 45047]
    contents = [m["body"]["text"]["content"] for m in emulator.sent]
    assert contents == [f"第{n}条" for n in range(1, 6)]
    emulator.user_message(ALICE)
    assert await send_custom(http, emulator, tok, text(ALICE, "again")) == {
        "errcode": 0,
        "errmsg": "ok",
    }
    assert len(emulator.sent) == 6


async def test_custom_message_to_strangers_and_unfollowers(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.user_message(ALICE)
    emulator.followers.discard(ALICE)  # Alice wrote, then unfollowed
    tok = await token(http, emulator)

    assert await send_custom(http, emulator, tok, text(BOB, "hi")) == {
        "errcode": 40003,
        "errmsg": "invalid openid",
    }
    assert (await send_custom(http, emulator, tok, text(ALICE, "hi")))["errcode"] == 45015
    assert (await send_custom(http, emulator, tok, {"msgtype": "text", "text": {"content": "x"}}))[
        "errcode"
    ] == 40003


@pytest.mark.parametrize(
    ("body", "errcode", "errmsg"),
    [
        ({"touser": ALICE, "msgtype": "fax", "fax": {}}, 40008, "invalid message type"),
        ({"touser": ALICE, "msgtype": "text", "text": {"content": ""}}, 47003, "argument invalid!"),
        ({"touser": ALICE, "msgtype": "text", "text": {"content": 7}}, 47003, "argument invalid!"),
        ({"touser": ALICE, "msgtype": "text"}, 47003, "argument invalid!"),
        ([ALICE, "text"], 47001, "data format error"),
    ],
)
async def test_malformed_custom_messages_are_refused(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, body: Any, errcode: int, errmsg: str
) -> None:
    emulator.user_message(ALICE)
    tok = await token(http, emulator)

    assert await send_custom(http, emulator, tok, body) == {"errcode": errcode, "errmsg": errmsg}
    assert emulator.sent == []


async def test_custom_message_body_that_is_not_json_is_47001(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.user_message(ALICE)
    tok = await token(http, emulator)
    url = emulator.base_url + "message/custom/send"
    async with http.post(url, params={"access_token": tok}, data=b"\xff{not json") as response:
        assert await response.json() == {"errcode": 47001, "errmsg": "data format error"}


async def test_image_message_is_accepted_without_text(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.user_message(ALICE)
    tok = await token(http, emulator)
    body = {"touser": ALICE, "msgtype": "image", "image": {"media_id": "MEDIA"}}

    assert (await send_custom(http, emulator, tok, body))["errcode"] == 0
    assert emulator.sent[0]["body"]["image"] == {"media_id": "MEDIA"}


# -- template messages --------------------------------------------------------------------------


async def test_template_message_is_accepted_with_a_msgid(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, clock: Clock
) -> None:
    emulator.followers.add(ALICE)  # no 48 h window needed
    tok = await token(http, emulator)

    answer = await send_template(http, emulator, tok, url="https://desk.example/t/GD-0001")

    assert answer == {"errcode": 0, "errmsg": "ok", "msgid": FIRST_MSGID}
    assert emulator.sent == [
        {
            "kind": "template",
            "body": {
                "touser": ALICE,
                "template_id": TEMPLATE,
                "data": TEMPLATE_DATA,
                "url": "https://desk.example/t/GD-0001",
            },
            "msgid": FIRST_MSGID,
        }
    ]
    assert (await send_template(http, emulator, tok))["msgid"] == FIRST_MSGID + 1


@pytest.mark.parametrize(
    ("fields", "errcode", "errmsg"),
    [
        ({"template_id": "tpl-unknown"}, 40037, "invalid template_id"),
        ({"touser": BOB}, 43004, "require subscribe"),
        ({"data": {"thing2": "工程师已出发"}}, 47003, "argument invalid!"),
        ({"data": {"thing2": {"value": 3}}}, 47003, "argument invalid!"),
        ({"data": ["GD-0001"]}, 47003, "argument invalid!"),
    ],
)
async def test_bad_template_messages_are_refused(
    emulator: WechatApiEmulator,
    http: aiohttp.ClientSession,
    fields: dict[str, Any],
    errcode: int,
    errmsg: str,
) -> None:
    emulator.followers.add(ALICE)
    tok = await token(http, emulator)

    assert await send_template(http, emulator, tok, **fields) == {
        "errcode": errcode,
        "errmsg": errmsg,
    }
    assert emulator.sent == []


async def test_client_msg_id_makes_a_template_send_idempotent_per_user(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.followers.update({ALICE, BOB})
    tok = await token(http, emulator)

    first = await send_template(http, emulator, tok, client_msg_id="outbox-8812")
    again = await send_template(http, emulator, tok, client_msg_id="outbox-8812")
    other_user = await send_template(http, emulator, tok, touser=BOB, client_msg_id="outbox-8812")
    other_id = await send_template(http, emulator, tok, client_msg_id="outbox-8813")

    assert first == again == {"errcode": 0, "errmsg": "ok", "msgid": FIRST_MSGID}
    assert other_user["msgid"] == FIRST_MSGID + 1
    assert other_id["msgid"] == FIRST_MSGID + 2
    assert [m["msgid"] for m in emulator.sent] == [FIRST_MSGID, FIRST_MSGID + 1, FIRST_MSGID + 2]


# -- media, outages, unknown paths ------------------------------------------------------------


async def test_media_get_serves_the_bytes_as_an_attachment(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    emulator.media["MEDIA_1"] = (photo, "image/jpeg")
    tok = await token(http, emulator)

    params = {"access_token": tok, "media_id": "MEDIA_1"}
    async with http.get(emulator.base_url + "media/get", params=params) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Disposition"] == 'attachment; filename="MEDIA_1.jpg"'
        assert await response.read() == photo
    assert await media_get(http, emulator, tok, "MEDIA_2") == {
        "errcode": 40007,
        "errmsg": "invalid media_id",
    }


async def test_down_answers_503_with_a_text_body_and_still_counts(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession
) -> None:
    emulator.down = True
    async with http.post(emulator.base_url + "stable_token", data=b"{}") as response:
        assert response.status == 503
        assert response.content_type == "text/html"
        assert "503" in await response.text()
    assert emulator.requests == [("POST", "/cgi-bin/stable_token")]
    assert emulator.token_fetches == 0

    emulator.down = False
    assert len(await token(http, emulator)) >= 100
    assert emulator.requests == [("POST", "/cgi-bin/stable_token")] * 2


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/cgi-bin/menu/create"), ("GET", "/cgi-bin/stable_token"), ("GET", "/sns/oauth2")],
)
async def test_unknown_endpoints_are_404_api_unauthorized(
    emulator: WechatApiEmulator, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    url = emulator.base_url.removesuffix("/cgi-bin/") + path
    async with http.request(method, url) as response:
        assert response.status == 404
        assert await response.json() == {"errcode": 48001, "errmsg": "api unauthorized"}
    assert emulator.requests == [(method, path)]


async def test_real_clock_by_default() -> None:
    emu = WechatApiEmulator(APPID, SECRET)
    assert abs(emu.clock() - time.time()) < 5


# -- through wechatpy ---------------------------------------------------------------------------


def wechatpy_client(emu: WechatApiEmulator) -> WeChatClient:
    """The emulator-ready wechatpy client of the protocol reference (§12)."""

    class Client(WeChatClient):
        API_BASE_URL = emu.base_url

        def fetch_access_token(self) -> dict[str, Any]:
            r = self._http.post(
                self.API_BASE_URL + "stable_token",
                timeout=self.timeout or 10,
                json={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": False,
                },
            )
            r.raise_for_status()
            res = r.json()
            if res.get("errcode"):
                raise WeChatClientException(
                    res["errcode"], res.get("errmsg"), client=self, response=r
                )
            self.session.set(self.access_token_key, res["access_token"], res["expires_in"])
            self.expires_at = int(time.time()) + res["expires_in"]
            return res

    return Client(APPID, SECRET, timeout=(3, 10), auto_retry=False)


async def test_wechatpy_sends_chinese_text_and_a_template(emulator: WechatApiEmulator) -> None:
    emulator.user_message(ALICE)
    client = wechatpy_client(emulator)

    answer = await asyncio.to_thread(client.message.send_text, ALICE, "中文")
    template = await asyncio.to_thread(
        client.post,
        "message/template/send",
        data={
            "touser": ALICE,
            "template_id": TEMPLATE,
            "data": TEMPLATE_DATA,
            "client_msg_id": "outbox-1",
        },
    )

    assert answer == {"errcode": 0, "errmsg": "ok"}
    assert template == {"errcode": 0, "errmsg": "ok", "msgid": FIRST_MSGID + 1}
    assert emulator.sent[0] == {
        "kind": "custom",
        "body": {"touser": ALICE, "msgtype": "text", "text": {"content": "中文"}},
        "msgid": FIRST_MSGID,
    }
    assert emulator.sent[1]["body"]["data"]["thing2"] == {"value": "工程师已出发"}
    assert emulator.token_fetches == 1
    assert emulator.requests == [
        ("POST", "/cgi-bin/stable_token"),
        ("POST", "/cgi-bin/message/custom/send"),
        ("POST", "/cgi-bin/message/template/send"),
    ]


async def test_wechatpy_sees_api_errors_and_downloads_media(emulator: WechatApiEmulator) -> None:
    emulator.user_message(ALICE)
    emulator.close_window(ALICE)
    emulator.media["PHOTO_1"] = (b"\xff\xd8\xff" + b"\x00" * 32, "image/jpeg")
    client = wechatpy_client(emulator)

    with pytest.raises(WeChatClientException) as excinfo:
        await asyncio.to_thread(client.message.send_text, ALICE, "中文")
    assert excinfo.value.errcode == 45015
    assert excinfo.value.errmsg == "response out of time limit or subscription is canceled"

    response = await asyncio.to_thread(client.media.download, "PHOTO_1")
    assert response.content == b"\xff\xd8\xff" + b"\x00" * 32
    assert response.headers["Content-Disposition"] == 'attachment; filename="PHOTO_1.jpg"'

    emulator.invalidate_tokens()
    with pytest.raises(WeChatClientException) as excinfo:
        await asyncio.to_thread(client.message.send_text, ALICE, "中文")
    assert excinfo.value.errcode == 40001
    assert emulator.token_fetches == 1  # auto_retry=False: no silent refetch
    assert emulator.sent == []
