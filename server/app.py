"""The aiohttp application: REST API, channels, and the background workers (group commit,
outbox dispatcher), started and stopped with the app."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from channels.email.imap import ImapPoller, MailboxConfig
from channels.email.inbound import MailIntakeConfig
from channels.email.parse import MailLimits
from channels.email.sender import EmailSender, SmarthostConfig
from channels.email.smtp import SmtpConfig, SmtpIntake
from channels.phone.cdr import GenericMapping
from channels.phone.importer import CdrFolderWatcher, CdrSource
from channels.sms.adapter import SmsSender, load_provider
from channels.vendor.webhook import VENDOR_RETRY, VendorWebhookSender
from channels.wechat.sender import SenderConfig, WechatApi, WechatSender
from channels.wechat.webhook import WechatConfig, WechatWebhook
from server import api, calls_api, care_api, openapi, survey_pages, vendor_api
from server.errors import TEMPLATES, VOCABULARY, error_middleware
from server.settings import EmailSettings, Settings, WechatSettings
from ticketing.care_reminders import load_tips
from ticketing.channel_state import ChannelStateStore
from ticketing.desk import Desk
from ticketing.dispatch import Deliver, OutboxDispatcher
from ticketing.group_commit import GroupCommitter
from ticketing.sla_watch import SlaWatcher

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
    smtp: SmtpIntake | None = None
    pollers: list[ImapPoller] = []
    mail = settings.email
    if mail.enabled:
        if mail.smarthost:
            senders["email"] = email_sender(mail, desk).deliver
        if mail.smtp_port:
            smtp = SmtpIntake(smtp_config(mail), committer.receive, desk)
        state = ChannelStateStore(desk.writer, desk.clock)
        pollers = [
            ImapPoller(
                MailboxConfig.from_url(url),
                committer.receive,
                state,
                limits=mail_limits(mail),
                mail=MailIntakeConfig(new_tickets_per_hour=mail.new_tickets_per_hour),
                clock=desk.clock,
                poll_seconds=mail.imap_poll_seconds,
            )
            for url in mail.imap.split(",")
            if url.strip()
        ]
    senders["vendor"] = VendorWebhookSender(desk).deliver
    if settings.sms.provider:
        senders["sms"] = SmsSender(load_provider(settings.sms.provider)).deliver
    dispatcher = OutboxDispatcher(desk, senders, policies={"vendor": VENDOR_RETRY})
    app[DISPATCHER] = dispatcher
    watcher = cdr_watcher(settings, desk) if settings.phone.cdr_folder else None
    sla = SlaWatcher(desk, interval=settings.ticketing.sla_watch_seconds,
                     care_tips=load_tips(settings.config_dir / "care_tips.toml"))

    async def start_workers(_: web.Application) -> None:
        await committer.start()
        if dispatch_in_background:
            await dispatcher.start()
        if smtp is not None:
            await smtp.start(mail.smtp_host, mail.smtp_port)
        for poller in pollers:
            await poller.start()
        if watcher is not None:
            await watcher.start()
        if dispatch_in_background:
            await sla.start()

    async def stop_workers(_: web.Application) -> None:
        await sla.stop()
        if watcher is not None:
            await watcher.stop()
        for poller in pollers:
            await poller.stop()
        if smtp is not None:
            await smtp.stop()
        await dispatcher.stop()
        await committer.stop()

    app.on_startup.append(start_workers)
    app.on_cleanup.append(stop_workers)
    app[TEMPLATES] = desk.templates
    app[VOCABULARY] = desk.vocabulary
    app.add_routes(api.routes)
    app.add_routes(calls_api.routes)
    app.add_routes(care_api.routes)
    app.add_routes(vendor_api.routes)
    app.add_routes(openapi.routes)
    app[survey_pages.PAGES] = survey_pages.pages(str(settings.config_dir / "templates" / "zh-CN"))
    app.add_routes(survey_pages.routes)
    return app


def cdr_watcher(settings: Settings, desk: Desk) -> CdrFolderWatcher:
    phone = settings.phone
    return CdrFolderWatcher(
        desk, Path(phone.cdr_folder), cdr_source(settings), phone.cdr_poll_seconds
    )


def cdr_source(settings: Settings, fmt: str | None = None) -> CdrSource:
    """How the PBX writes its CDR files (phone.cdr_format and the generic column names)."""
    phone = settings.phone
    mapping = GenericMapping(
        unique_id=phone.generic_unique_id,
        caller=phone.generic_caller,
        caller_name=phone.generic_caller_name or None,
        callee=phone.generic_callee or None,
        started_at=phone.generic_started_at,
        answered_at=phone.generic_answered_at or None,
        ended_at=phone.generic_ended_at or None,
        agent=phone.generic_agent or None,
        time_format=phone.generic_time_format,
        encoding=phone.generic_encoding,
    )
    return CdrSource(fmt or phone.cdr_format, settings.zone, mapping)


def mail_limits(s: EmailSettings) -> MailLimits:
    return MailLimits(
        max_attachments=s.max_attachments,
        max_attachment_bytes=s.max_attachment_bytes,
        max_message_bytes=s.max_message_bytes,
    )


def smtp_config(s: EmailSettings) -> SmtpConfig:
    return SmtpConfig(
        addresses=s.address_list,
        limits=mail_limits(s),
        intake=MailIntakeConfig(new_tickets_per_hour=s.new_tickets_per_hour),
    )


def email_sender(s: EmailSettings, desk: Desk) -> EmailSender:
    host, port = s.smarthost.rsplit(":", 1)
    config = SmarthostConfig(
        host=host,
        port=int(port),
        from_address=s.address_list[0],
        from_name=s.from_name,
        message_id_domain=s.message_id_domain,
        starttls=s.smarthost_starttls,
        user=s.smarthost_user,
        password=s.smarthost_password,
    )
    return EmailSender(config, desk.clock)


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
