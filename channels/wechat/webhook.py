"""Inbound WeChat: the `/wechat` endpoint of the Official Account's server settings.

GET answers WeChat's URL verification. POST takes a message or event: check the signature and
the timestamp (and in plaintext mode refuse a replayed nonce), read the body within its size
limit, decrypt it (safe mode), parse it safely (protocol.py), hand a report to intake, and
answer with a passive reply once intake has committed it, all within WeChat's 5-second
deadline. A message WeChat delivers again (same MsgId; same sender and CreateTime for events)
is recognised by intake and gets the same answer.

If intake does not finish within `reply_deadline`, the answer is a 503: WeChat then delivers
the message again, and the redelivery gets the answer once the first has been committed.
Nothing is stored for a request that fails any check.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from channels.wechat import protocol
from channels.wechat.protocol import BadRequest, Message, WechatRequestError
from ticketing import confirmations
from ticketing.channel_state import ChannelStateStore, NonceReplayed, ReplayGuard
from ticketing.desk import Desk
from ticketing.directory import set_following
from ticketing.model import AttachmentRef, Inbound, IntakeResult, Sender
from ticketing.queries import open_tickets_of

log = logging.getLogger(__name__)

Intake = Callable[[Inbound], Awaitable[IntakeResult]]
MY_TICKETS = "MY_TICKETS"  # the menu key of "我的工单"
_SWEEP_EVERY = 600.0  # seconds

# what the user sees when a request is refused (WeChat shows its own text; these are for people
# testing the endpoint by hand)
_REFUSED_ZH = {
    400: "请求格式错误",
    403: "签名或时间戳校验失败",
    413: "请求过大",
    503: "服务繁忙，请稍后重试",
}


@dataclass(frozen=True)
class WechatConfig:
    token: str
    appid: str
    aes_keys: tuple[str, ...]  # current key first, then the previous one
    safe_mode: bool
    account_id: str  # 原始ID; empty: not checked
    timestamp_window: int
    max_body_bytes: int
    reply_deadline: float
    follow_up: timedelta


class WechatWebhook:
    def __init__(
        self,
        config: WechatConfig,
        desk: Desk,
        intake: Intake,
        state: ChannelStateStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._desk = desk
        self._intake = intake
        self._state = state
        self._clock = clock
        self._swept = 0.0
        self._background: set[asyncio.Task[int]] = set()

    def _sweep_nonces(self) -> None:
        """Now and then, forget nonces older than the timestamp window (in the background)."""
        now = self._clock()
        if now - self._swept < _SWEEP_EVERY or self._config.safe_mode:
            return
        self._swept = now
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._state.sweep, "nonce:")
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def routes(self, path: str = "/wechat") -> list[web.RouteDef]:
        return [web.get(path, self.verify), web.post(path, self.receive)]

    # -- GET: URL verification ---------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        try:
            q = _query(request, "signature", "timestamp", "nonce", "echostr")
            protocol.check_signature(self._config.token, q["signature"], q["timestamp"],
                                     q["nonce"])
        except WechatRequestError as exc:
            return _refused(exc)
        return web.Response(text=q["echostr"], content_type="text/plain")

    # -- POST: messages and events -------------------------------------------------------

    async def receive(self, request: web.Request) -> web.Response:
        try:
            message, raw, guard = await self._read(request)
        except WechatRequestError as exc:
            return _refused(exc)
        self._sweep_nonces()
        try:
            reply = await asyncio.wait_for(
                asyncio.shield(self._answer(message, raw, guard)), self._config.reply_deadline
            )
        except NonceReplayed:
            return _refused(protocol.BadSignature("replayed nonce"))
        except TimeoutError:
            log.warning("wechat: no answer within %.1f s; WeChat will retry",
                        self._config.reply_deadline)
            return _refused(WechatRequestError(503, "intake too slow"))
        if reply is None:
            return web.Response(text="success", content_type="text/plain")
        return self._reply(message, reply, request)

    async def _read(
        self, request: web.Request
    ) -> tuple[Message, bytes, ReplayGuard | None]:
        config = self._config
        q = _query(request, "timestamp", "nonce")
        now = self._clock()
        if request.content_length is not None and request.content_length > config.max_body_bytes:
            raise protocol.TooLarge("body too large")
        body = await request.content.read(config.max_body_bytes + 1)
        encrypted = request.query.get("encrypt_type", "raw") == "aes"
        if encrypted:
            outer = protocol.parse_xml(body, config.max_body_bytes)
            encrypt = outer.get("Encrypt")
            if not encrypt:
                raise BadRequest("no Encrypt field")
            protocol.check_msg_signature(
                config.token, _query(request, "msg_signature")["msg_signature"],
                q["timestamp"], q["nonce"], encrypt,
            )
            protocol.check_fresh(q["timestamp"], now, config.timestamp_window)
            if not config.aes_keys:
                raise BadRequest("safe mode is not configured")
            raw = protocol.decrypt(encrypt, config.aes_keys, config.appid).encode()
        else:
            if config.safe_mode:
                raise BadRequest("plaintext messages refused in safe mode")
            protocol.check_signature(
                config.token, _query(request, "signature")["signature"], q["timestamp"],
                q["nonce"],
            )
            protocol.check_fresh(q["timestamp"], now, config.timestamp_window)
            raw = body
        message = protocol.message_from_fields(protocol.parse_xml(raw, config.max_body_bytes))
        if config.account_id and message.to_user != config.account_id:
            raise BadRequest("addressed to another account")
        guard = None
        if not encrypted:
            # plaintext mode signs only the query: a query seen before may come again with the
            # body it came with (WeChat retrying), never with another one
            guard = ReplayGuard(
                key=f"nonce:{q['timestamp']}:{q['nonce']}",
                digest=hashlib.sha256(body).hexdigest(),
                ttl=timedelta(seconds=2 * config.timestamp_window),
            )
        return message, raw, guard

    def _reply(self, message: Message, content: str, request: web.Request) -> web.Response:
        now = int(self._clock())
        xml = protocol.text_reply(message.from_user, message.to_user, content, now)
        if request.query.get("encrypt_type") == "aes":
            xml = protocol.envelope(
                xml, self._config.token, self._config.aes_keys[0], self._config.appid,
                str(now), secrets.token_hex(8),
            )
        return web.Response(text=xml, content_type="application/xml")

    # -- what to answer ---------------------------------------------------------------------

    async def _answer(
        self, message: Message, raw: bytes, guard: ReplayGuard | None
    ) -> str | None:
        """The passive reply text for `message`, or None to answer "success"."""
        kind = message.msg_type
        if kind == "event":
            if guard is not None:
                await asyncio.to_thread(self._state.claim_nonce, guard)
            return await self._event(message)
        inbound = self._inbound(message, raw, guard)
        if inbound is None:
            return self._desk.templates.render("wechat_unsupported.txt.j2")
        result = await self._intake(inbound)
        await confirmations.apply(self._desk, result, inbound.text)  # "已解决" / "未解决"
        outcome = result.first_outcome if result.outcome == "duplicate" else result.outcome
        return self._desk.templates.render(
            "wechat_reply.txt.j2",
            outcome=outcome,
            ticket_no=result.ticket_no,
            level_label=self._desk.vocabulary.label("level", result.level),
            respond_due=result.respond_due,
            asks_profile=result.asks_profile,
        )

    def _inbound(
        self, message: Message, raw: bytes, guard: ReplayGuard | None
    ) -> Inbound | None:
        kind = message.msg_type
        attachments: tuple[AttachmentRef, ...] = ()
        site = None
        if kind == "text":
            text = message.content
        elif kind == "voice":
            text = message.recognition or "[语音消息]"
            if not message.recognition and message.media_id:
                attachments = (AttachmentRef(message.media_id, "voice"),)
        elif kind == "image":
            text = "[图片]"
            attachments = (AttachmentRef(message.media_id, "image"),) if message.media_id else ()
        elif kind in {"video", "shortvideo"}:
            text = "[视频]"
            attachments = (AttachmentRef(message.media_id, "video"),) if message.media_id else ()
        elif kind == "location":
            text = f"[位置] {message.label}".strip()
            district = self._desk.regions.find_in_text(message.label)
            site = district.name if district else None
        elif kind == "link":
            text = "\n".join(p for p in ("[链接] " + message.title, message.description,
                                         message.url or "") if p)
        else:
            return None
        if not text.strip():
            return None
        return Inbound(
            channel_detail="wechat",
            external_id=message.dedupe_key,
            received_at=self._sent_at(message),
            text=text,
            sender=Sender(wechat_openid=message.from_user),
            raw=raw,
            site_district=site,
            attachments=attachments,
            conversational=True,
            follow_up_window=self._config.follow_up,
            replay_guard=guard,
        )

    def _sent_at(self, message: Message) -> datetime:
        """WeChat's CreateTime is when the user sent it (用户反馈时间), unless it is implausible."""
        now = self._clock()
        if abs(message.create_time - now) <= self._config.timestamp_window:
            return datetime.fromtimestamp(message.create_time, UTC)
        return datetime.fromtimestamp(now, UTC)

    async def _event(self, message: Message) -> str | None:
        event = message.event or ""
        now = datetime.fromtimestamp(self._clock(), UTC)
        if event in {"subscribe", "unsubscribe"}:
            following = event == "subscribe"
            await asyncio.to_thread(
                set_following, self._desk.writer, message.from_user, following, now
            )
            return self._desk.templates.render("wechat_welcome.txt.j2") if following else None
        if event == "click" and message.event_key == MY_TICKETS:
            async with self._desk.sessions() as session:
                tickets = await open_tickets_of(session, message.from_user)
            return self._desk.templates.render("wechat_my_tickets.txt.j2", tickets=tickets)
        return None  # VIEW, LOCATION, TEMPLATESENDJOBFINISH, …: nothing to say


def _query(request: web.Request, *names: str) -> dict[str, str]:
    found = {}
    for name in names:
        value = request.query.get(name)
        if not value:
            raise BadRequest(f"missing query parameter {name}")
        found[name] = value
    return found


def _refused(exc: WechatRequestError) -> web.Response:
    log.info("wechat request refused: %s %s", exc.status, exc.reason)  # never the query string
    zh = _REFUSED_ZH.get(exc.status, "请求被拒绝")
    return web.Response(status=exc.status, text=f"{zh} | {exc.reason}", content_type="text/plain")
