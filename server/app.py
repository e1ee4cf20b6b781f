"""The aiohttp application: REST API, channels, and the background workers (group commit,
outbox dispatcher), started and stopped with the app."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from channels.wechat.sender import SenderConfig, WechatApi, WechatSender
from channels.wechat.webhook import WechatConfig, WechatWebhook
from server import api
from server.errors import TEMPLATES, VOCABULARY, error_middleware
from server.settings import Settings, WechatSettings
from ticketing.channel_state import ChannelStateStore
from ticketing.desk import Desk
from ticketing.dispatch import Deliver, OutboxDispatcher
from ticketing.group_commit import GroupCommitter

MAX_BODY_BYTES = 256 * 1024
DISPATCHER = web.AppKey("dispatcher", OutboxDispatcher)


def build_app(
    desk: Desk, settings: Settings | None = None, *, dispatch_in_background: bool = True
) -> web.Application:
    """`dispatch_in_background=False` leaves the outbox to `app[DISPATCHER].dispatch_once()`
    (tests that step through deliveries)."""
    settings = settings or Settings()
    app = web.Application(
        middlewares=[error_middleware, api.auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[api.DESK] = desk
    committer = GroupCommitter(desk)
    app[api.INTAKE] = committer
    senders: dict[str, Deliver] = {}
    if settings.wechat.enabled:
        state = ChannelStateStore(desk.writer, desk.clock)
        webhook = WechatWebhook(
            wechat_config(settings.wechat),
            desk,
            committer.receive,
            state,
            clock=lambda: desk.clock().timestamp(),
        )
        app.add_routes(webhook.routes())
        senders["wechat"] = wechat_sender(settings.wechat, desk, state).deliver
    dispatcher = OutboxDispatcher(desk, senders)
    app[DISPATCHER] = dispatcher

    async def start_workers(_: web.Application) -> None:
        await committer.start()
        if dispatch_in_background:
            await dispatcher.start()

    async def stop_workers(_: web.Application) -> None:
        await dispatcher.stop()
        await committer.stop()

    app.on_startup.append(start_workers)
    app.on_cleanup.append(stop_workers)
    app[TEMPLATES] = desk.templates
    app[VOCABULARY] = desk.vocabulary
    app.add_routes(api.routes)
    return app


def wechat_config(s: WechatSettings) -> WechatConfig:
    return WechatConfig(
        token=s.token,
        appid=s.appid,
        aes_keys=tuple(k for k in (s.aes_key, s.previous_aes_key) if k),
        safe_mode=s.mode == "safe",
        account_id=s.account_id,
        timestamp_window=s.timestamp_window,
        max_body_bytes=s.max_body_bytes,
        reply_deadline=s.reply_deadline,
        follow_up=timedelta(hours=s.follow_up_hours),
    )


def wechat_sender(s: WechatSettings, desk: Desk, state: ChannelStateStore) -> WechatSender:
    api_client = WechatApi(s.appid, s.secret, s.api_base, state, s.api_timeout)
    config = SenderConfig(
        progress_template=s.progress_template, max_media_bytes=s.max_media_bytes, zone=desk.zone
    )
    return WechatSender(api_client, desk.writer, config, desk.clock)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """One line per request without the query string: WeChat puts its signature and nonce
    there, and in plaintext mode a leaked query lets anyone post any body (protocol §3)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %.1f ms',
            request.remote, request.method, request.path, response.status, time * 1000,
        )


def make_runner(app: web.Application) -> web.AppRunner:
    return web.AppRunner(app, access_log_class=PathOnlyAccessLogger)
