"""Outbound WeChat: notices to users and downloads of the pictures they sent.

The outbox dispatcher hands each `wechat` row to `WechatSender.deliver`:

- a text notice goes as a customer-service message (客服消息) while the user's 48-hour window is
  open (counted from their last message), otherwise, or when WeChat answers that the window is
  closed (45015) or its quota used (45047), as a template message (模板消息) with the outbox id as
  `client_msg_id`, so a repeated delivery is dropped by WeChat;
- a `fetch_media` row downloads the picture through `media/get` into the ticket's attachments.

wechatpy's client is synchronous, so every call runs on a worker thread. It is set up the way the
protocol reference (§12) asks: our own `stable_token` fetch against the configured base URL with
a timeout, `auto_retry` off (its own retry has no bound), and the access token kept in the
database through `ChannelStateStore`, shared by every process. On 40001/40014/42001 the token is
refreshed once and the call retried once; anything further is the dispatcher's retry with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import Engine
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from ticketing import attachments
from ticketing.channel_state import ChannelStateStore
from ticketing.directory import last_heard_from
from ticketing.dispatch import DeliveryFailed, OutboxItem

T = TypeVar("T")

CS_WINDOW = timedelta(hours=48)
# send as a template a little before the window closes rather than risk a 45015 round trip
CS_MARGIN = timedelta(minutes=5)
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
WINDOW_CLOSED = frozenset({45015, 45047})
# retrying cannot help: a wrong recipient, template or argument, or a missing permission
PERMANENT = frozenset({40003, 40007, 40008, 40037, 43004, 43101, 47001, 47003, 48001})


class WechatApi(WeChatClient):  # type: ignore[misc]
    """wechatpy's client pointed at `api_base`, fetching its token from `stable_token` there."""

    def __init__(
        self, appid: str, secret: str, api_base: str, store: ChannelStateStore, timeout: float
    ) -> None:
        super().__init__(appid, secret, session=store, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = api_base if api_base.endswith("/") else api_base + "/"

    def fetch_access_token(self) -> dict[str, Any]:
        response = self._http.post(
            self.API_BASE_URL + "stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": False,
            },
            timeout=self.timeout,
        )
        response.raise_for_status()
        result = response.json()
        if result.get("errcode"):
            raise WeChatClientException(
                result["errcode"], result.get("errmsg"), client=self, response=response
            )
        expires_in = int(result["expires_in"])
        # keep it a minute less than WeChat does, so we never send a token in its last seconds
        self.session.set(self.access_token_key, result["access_token"], max(expires_in - 60, 1))
        self.expires_at = int(time.time()) + expires_in
        return result

    def refresh_token(self) -> None:
        self.session.delete(self.access_token_key)
        self.fetch_access_token()


@dataclass(frozen=True)
class SenderConfig:
    progress_template: str  # template id; empty: no template messages
    max_media_bytes: int
    zone: ZoneInfo


class WechatSender:
    def __init__(
        self,
        api: WechatApi,
        engine: Engine,
        config: SenderConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._api = api
        self._engine = engine
        self._config = config
        self._clock = clock

    async def deliver(self, item: OutboxItem) -> None:
        if item.kind == "fetch_media":
            await self._fetch_media(item)
        else:
            await self._notify(item)

    # -- notices -------------------------------------------------------------------------

    async def _notify(self, item: OutboxItem) -> None:
        openid = item.recipient
        heard = await asyncio.to_thread(self._last_heard, openid)
        if heard is not None and self._clock() - heard < CS_WINDOW - CS_MARGIN:
            try:
                await self._call(lambda: self._api.message.send_text(openid, item.body))
                return
            except WechatApiFailure as exc:
                if exc.errcode not in WINDOW_CLOSED:
                    raise
        await self._send_template(item)

    def _last_heard(self, openid: str) -> datetime | None:
        with self._engine.connect() as conn:
            return last_heard_from(conn, openid)

    async def _send_template(self, item: OutboxItem) -> None:
        if not self._config.progress_template:
            raise DeliveryFailed(
                "客服消息窗口已关闭，且未配置模板消息（wechat.progress_template）| "
                "customer-service window closed and no progress_template configured",
                permanent=True,
            )
        now = self._clock().astimezone(self._config.zone)
        summary = str(item.payload.get("summary") or item.body)
        data = {
            "touser": item.recipient,
            "template_id": self._config.progress_template,
            "client_msg_id": f"outbox-{item.id}",
            "data": {
                "character_string1": {"value": str(item.payload.get("ticket_no", ""))},
                "thing2": {"value": summary[:20]},
                "time3": {"value": now.strftime("%Y-%m-%d %H:%M")},
            },
        }
        await self._call(lambda: self._api.post("message/template/send", data=data))

    # -- media ---------------------------------------------------------------------------

    async def _fetch_media(self, item: OutboxItem) -> None:
        attachment_id = int(item.payload["attachment_id"])
        try:
            response = await self._call(lambda: self._api.media.download(item.recipient))
        except DeliveryFailed as exc:
            if exc.permanent:
                await asyncio.to_thread(attachments.fail, self._engine, attachment_id, exc.reason)
            raise
        if not isinstance(response, requests.Response):  # JSON: an error without errcode
            raise DeliveryFailed(f"media/get answered {response!r}"[:300])
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type in {"application/json", "text/plain"}:
            raise DeliveryFailed(f"media/get answered {response.text[:200]}")
        data = response.content
        if len(data) > self._config.max_media_bytes:
            reason = f"图片过大（{len(data)} 字节）| media too large ({len(data)} bytes)"
            await asyncio.to_thread(attachments.fail, self._engine, attachment_id, reason)
            raise DeliveryFailed(reason, permanent=True)
        filename = _filename(response) or f"{item.recipient}.jpg"
        await asyncio.to_thread(
            attachments.store,
            self._engine,
            attachment_id,
            data,
            content_type or None,
            filename,
            self._clock(),
        )

    # -- calls ---------------------------------------------------------------------------

    async def _call(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(self._call_sync, call)

    def _call_sync(self, call: Callable[[], T]) -> T:
        try:
            try:
                return call()
            except WeChatClientException as exc:
                if exc.errcode not in TOKEN_ERRORS:
                    raise
                self._api.refresh_token()  # once; the dispatcher retries anything further
                return call()
        except WeChatClientException as exc:
            raise _failure(exc) from exc
        except requests.RequestException as exc:
            raise DeliveryFailed(f"微信接口不可达 | WeChat API unreachable: {exc}") from exc


class WechatApiFailure(DeliveryFailed):
    def __init__(self, errcode: int | None, reason: str, permanent: bool) -> None:
        super().__init__(reason, permanent=permanent)
        self.errcode = errcode


def _failure(exc: WeChatClientException) -> WechatApiFailure:
    code = exc.errcode
    if code is None:  # an HTTP error status
        status = exc.response.status_code if exc.response is not None else "?"
        return WechatApiFailure(None, f"微信接口 HTTP {status} | WeChat API HTTP {status}", False)
    return WechatApiFailure(
        code, f"微信接口错误 {code}：{exc.errmsg} | WeChat API error {code}", code in PERMANENT
    )


def _filename(response: requests.Response) -> str | None:
    disposition = response.headers.get("Content-Disposition", "")
    marker = 'filename="'
    if marker not in disposition:
        return None
    return disposition.split(marker, 1)[1].split('"', 1)[0] or None
