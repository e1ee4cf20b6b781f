"""The whole service on a real port with the WeChat channel on, the WeChat API emulator beside
it, and `WechatServer` playing WeChat's side of the webhook (real signatures, real AES)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from channels.wechat import protocol
from server.app import DISPATCHER, build_app, make_runner
from server.settings import Settings, WechatSettings
from tests.channels.wechat.api_emulator import WechatApiEmulator
from tests.conftest import Clock
from ticketing.desk import Desk
from ticketing.dispatch import OutboxDispatcher
from ticketing.orm import InboundMessage, WorkOrder

TOKEN = "xcdesk-token"
APPID = "wx5e1c0ffee0000001"
SECRET = "app-secret-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
ACCOUNT = "gh_0123456789ab"
TEMPLATE = "TPL_progress_0001"


@dataclass
class Reply:
    status: int
    text: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def content(self) -> str:
        return self.fields.get("Content", "")


@dataclass
class WechatServer:
    """Sends what WeChat would send to our `/wechat`, and reads our answer as WeChat would."""

    url: str
    http: aiohttp.ClientSession
    clock: Clock
    safe: bool
    msg_ids: int = 10_000_000_000

    def next_msg_id(self) -> int:
        self.msg_ids += 1
        return self.msg_ids

    def message(self, openid: str, msg_type: str = "text", **fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": int(self.clock().timestamp()),
            "MsgType": msg_type,
        }
        if msg_type != "event" and "MsgId" not in fields:
            base["MsgId"] = self.next_msg_id()
        return base | fields

    def signed(self, body_xml: str, *, timestamp: str | None = None, nonce: str | None = None,
               safe: bool | None = None) -> tuple[dict[str, str], bytes]:
        """Query and body of a delivery, signed (and encrypted in safe mode) as WeChat does."""
        safe = self.safe if safe is None else safe
        timestamp = timestamp or str(int(self.clock().timestamp()))
        nonce = nonce or secrets.token_hex(5)
        query = {"timestamp": timestamp, "nonce": nonce, "openid": "not-trusted",
                 "signature": protocol.signature(TOKEN, timestamp, nonce)}
        if not safe:
            return query, body_xml.encode()
        body, msg_signature = protocol.inbound_envelope(
            body_xml, TOKEN, AES_KEY, APPID, ACCOUNT, timestamp, nonce
        )
        return query | {"encrypt_type": "aes", "msg_signature": msg_signature}, body

    async def post_raw(self, query: dict[str, str], body: bytes) -> Reply:
        async with self.http.post(self.url, params=query, data=body) as resp:
            text = await resp.text()
            reply = Reply(resp.status, text)
        if reply.status == 200 and text != "success":
            reply.fields = self.read_reply(text, encrypted=query.get("encrypt_type") == "aes")
        return reply

    def read_reply(self, text: str, *, encrypted: bool) -> dict[str, str]:
        fields = protocol.parse_xml(text.encode(), 1 << 20)
        if encrypted:
            protocol.check_msg_signature(
                TOKEN, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"],
                fields["Encrypt"],
            )
            inner = protocol.decrypt(fields["Encrypt"], [AES_KEY], APPID)
            fields = protocol.parse_xml(inner.encode(), 1 << 20)
        return fields

    async def send(self, fields: dict[str, Any], **signing: Any) -> Reply:
        query, body = self.signed(protocol.build_message_xml(fields), **signing)
        return await self.post_raw(query, body)

    async def text(self, openid: str, content: str, **extra: Any) -> Reply:
        return await self.send(self.message(openid, Content=content, **extra))

    async def event(self, openid: str, event: str, **extra: Any) -> Reply:
        return await self.send(self.message(openid, "event", Event=event, **extra))


@dataclass
class WechatDesk:
    desk: Desk
    clock: Clock
    wechat: WechatServer
    emulator: WechatApiEmulator
    dispatcher: OutboxDispatcher
    base: str
    http: aiohttp.ClientSession

    async def count(self, table: Any) -> int:
        async with self.desk.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(table)) or 0)

    async def tickets(self) -> list[WorkOrder]:
        async with self.desk.sessions() as session:
            return list(await session.scalars(select(WorkOrder).order_by(WorkOrder.id)))

    async def stored_messages(self) -> int:
        return await self.count(InboundMessage)


def wechat_settings(emulator: WechatApiEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "appid": APPID,
        "secret": SECRET,
        "aes_key": AES_KEY,
        "previous_aes_key": OLD_AES_KEY,
        "account_id": ACCOUNT,
        "api_base": emulator.base_url,
        "progress_template": TEMPLATE,
        "api_timeout": 3,
    } | overrides
    return Settings(wechat=WechatSettings(**values))


async def start_service(
    desk: Desk, clock: Clock, settings: Settings, emulator: WechatApiEmulator,
    http: aiohttp.ClientSession,
) -> tuple[web.AppRunner, WechatDesk]:
    app = build_app(desk, settings, dispatch_in_background=False)
    runner = make_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    server = WechatServer(base + "/wechat", http, clock, settings.wechat.mode == "safe")
    return runner, WechatDesk(desk, clock, server, emulator, app[DISPATCHER], base, http)


@pytest.fixture
async def emulator(clock: Clock) -> AsyncIterator[WechatApiEmulator]:
    emu = WechatApiEmulator(APPID, SECRET, templates=[TEMPLATE])
    emu.clock = lambda: clock().timestamp()
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture(params=["safe", "plaintext"])
async def service(
    request: pytest.FixtureRequest, desk: Desk, clock: Clock, emulator: WechatApiEmulator
) -> AsyncIterator[WechatDesk]:
    """The service in safe mode and in plaintext mode (each test runs in both)."""
    settings = wechat_settings(emulator, mode=request.param)
    async with aiohttp.ClientSession() as http:
        runner, harness = await start_service(desk, clock, settings, emulator, http)
        yield harness
        await runner.cleanup()


@pytest.fixture
async def safe_service(
    desk: Desk, clock: Clock, emulator: WechatApiEmulator
) -> AsyncIterator[WechatDesk]:
    async with aiohttp.ClientSession() as http:
        runner, harness = await start_service(
            desk, clock, wechat_settings(emulator), emulator, http
        )
        yield harness
        await runner.cleanup()
