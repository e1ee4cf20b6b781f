"""An emulator of the WeChat Official Account server API (https://api.weixin.qq.com/cgi-bin/).

It serves, over real HTTP on a local port, the endpoints our outbound sender uses, with the real
API's habits (see /work/shared/reference/wechat-protocol.md §8-§12):

- API errors are HTTP 200 with ``{"errcode": N, "errmsg": "..."}``; ``access_token`` is read from
  the query string; JSON bodies are parsed from the raw bytes, with or without a Content-Type.
- ``stable_token`` returns the same token while it is valid and renews it in its last 5 minutes
  (the old one stays valid until it expires); ``force_refresh`` retires the previous token (40001).
- Customer-service messages need a user message in the last 48 hours and allow 5 per window.
- Template messages need a following user and a known template; ``client_msg_id`` is idempotent.

Not emulated: rate limits, IP whitelists, the ``rid`` suffix of real errmsgs, media upload.
"""

from __future__ import annotations

import itertools
import json
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

CS_WINDOW = 48 * 3600  # seconds a user message opens the customer-service window for
CS_QUOTA = 5  # customer-service messages allowed per window
STABLE_RENEW_BEFORE = 300  # stable_token hands out a new token this long before expiry
FIRST_MSGID = 3_100_000_000_000_000_001  # real msgids are this large: they need a 64-bit column
CUSTOM_MSGTYPES = frozenset(
    {
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "mpnewsarticle",
        "msgmenu",
        "miniprogrampage",
    }
)
ERRMSG = {
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
}
OK = {"errcode": 0, "errmsg": "ok"}
GATEWAY_503 = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"

Handler = Callable[[web.Request], Awaitable[dict[str, Any] | web.StreamResponse]]


class ApiError(Exception):
    """An API error; answered as HTTP 200 with the errcode and the real errmsg."""

    def __init__(self, errcode: int) -> None:
        super().__init__(errcode)
        self.errcode = errcode


@dataclass
class _Token:
    expires_at: float
    state: str = "valid"  # "valid" | "expired" (42001) | "invalid" (40001)


@dataclass
class _Window:
    opened_at: float
    used: int = 0


def _str(body: dict[str, Any], key: str) -> str:
    """The body's value for key if it is a string, else ""."""
    value = body.get(key)
    return value if isinstance(value, str) else ""


class WechatApiEmulator:
    """The WeChat server API for one account, as an aiohttp app on a local port."""

    def __init__(
        self, appid: str, secret: str, *, token_ttl: int = 7200, templates: Iterable[str] = ()
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.token_ttl = token_ttl
        self.templates = set(templates)
        self.followers: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.token_fetches = 0
        self.down = False
        self.clock: Callable[[], float] = time.time
        self.base_url = ""
        self._tokens: dict[str, _Token] = {}
        self._stable: str | None = None
        self._windows: dict[str, _Window] = {}
        self._interacted: set[str] = set()
        self._client_msg_ids: dict[tuple[str, str], int] = {}
        self._msgids = itertools.count(FIRST_MSGID)
        self._runner: web.AppRunner | None = None
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", "stable_token"): self._stable_token,
            ("GET", "token"): self._classic_token,
            ("POST", "message/custom/send"): self._custom_send,
            ("POST", "message/template/send"): self._template_send,
            ("GET", "media/get"): self._media_get,
        }

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0 picks a free port) and set base_url."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}/cgi-bin/"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- controls -------------------------------------------------------------------------------

    def user_message(self, openid: str, at: float | None = None) -> None:
        """The user wrote to us: (re)open the 48 h window with a fresh quota; they follow us."""
        self.followers.add(openid)
        self._interacted.add(openid)
        self._windows[openid] = _Window(self.clock() if at is None else at)

    def close_window(self, openid: str) -> None:
        """End the user's customer-service window now."""
        self._windows.pop(openid, None)

    def expire_tokens(self) -> None:
        """Every token issued so far now answers 42001."""
        for token in self._tokens.values():
            token.state = "expired"

    def invalidate_tokens(self) -> None:
        """Every token issued so far now answers 40001."""
        for token in self._tokens.values():
            token.state = "invalid"

    # -- plumbing -------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Record the request, then route it; API errors become HTTP 200 JSON bodies."""
        self.requests.append((request.method, request.path))
        if self.down:
            return web.Response(status=503, text=GATEWAY_503, content_type="text/html")
        path = request.path.removeprefix("/cgi-bin/")
        handler = self._routes.get((request.method, path)) if path != request.path else None
        if handler is None:
            return web.json_response({"errcode": 48001, "errmsg": ERRMSG[48001]}, status=404)
        try:
            if path not in ("token", "stable_token"):
                self._check_token(request.query.get("access_token", ""))
            result = await handler(request)
        except ApiError as exc:
            result = {"errcode": exc.errcode, "errmsg": ERRMSG[exc.errcode]}
        return result if isinstance(result, web.StreamResponse) else web.json_response(result)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        """The body as a JSON object, whatever the Content-Type; 47001 if it is not one."""
        try:
            body = json.loads(await request.read())
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise ApiError(47001) from exc
        if not isinstance(body, dict):
            raise ApiError(47001)
        return body

    def _check_token(self, token: str) -> None:
        if not token:
            raise ApiError(41001)
        entry = self._tokens.get(token)
        if entry is None:
            raise ApiError(40014)
        if entry.state == "invalid":
            raise ApiError(40001)
        if entry.state == "expired" or self.clock() >= entry.expires_at:
            raise ApiError(42001)

    def _check_credentials(self, grant_type: str, appid: str, secret: str) -> None:
        if grant_type != "client_credential":
            raise ApiError(40002)
        if not appid:
            raise ApiError(41002)
        if appid != self.appid:
            raise ApiError(40013)
        if not secret:
            raise ApiError(41004)
        if secret != self.secret:
            raise ApiError(40125)

    def _issue(self) -> str:
        token = secrets.token_urlsafe(96)
        self._tokens[token] = _Token(self.clock() + self.token_ttl)
        self.token_fetches += 1
        return token

    def _accept(self, kind: str, body: dict[str, Any]) -> int:
        msgid = next(self._msgids)
        self.sent.append({"kind": kind, "body": body, "msgid": msgid})
        return msgid

    # -- endpoints ------------------------------------------------------------------------------

    async def _stable_token(self, request: web.Request) -> dict[str, Any]:
        """POST stable_token: the current token while it is usable, else a new one."""
        body = await self._json(request)
        self._check_credentials(_str(body, "grant_type"), _str(body, "appid"), _str(body, "secret"))
        now = self.clock()
        token = self._stable or ""
        current = self._tokens.get(token)
        force = body.get("force_refresh") is True
        if current is not None and force and current.state == "valid":
            current.state = "invalid"
        margin = STABLE_RENEW_BEFORE if self.token_ttl > STABLE_RENEW_BEFORE else 0
        if (
            force
            or current is None
            or current.state != "valid"
            or (now >= current.expires_at - margin)
        ):
            token = self._stable = self._issue()
        return {"access_token": token, "expires_in": int(self._tokens[token].expires_at - now)}

    async def _classic_token(self, request: web.Request) -> dict[str, Any]:
        """GET token: always a new token (previous ones stay valid until they expire)."""
        query = request.query
        self._check_credentials(
            query.get("grant_type", ""), query.get("appid", ""), query.get("secret", "")
        )
        return {"access_token": self._issue(), "expires_in": self.token_ttl}

    async def _custom_send(self, request: web.Request) -> dict[str, Any]:
        """POST message/custom/send: only inside the user's 48 h window, 5 per window."""
        body = await self._json(request)
        msgtype = _str(body, "msgtype")
        if msgtype not in CUSTOM_MSGTYPES:
            raise ApiError(40008)
        text = body.get("text")
        if msgtype == "text" and not (isinstance(text, dict) and _str(text, "content")):
            raise ApiError(47003)
        touser = _str(body, "touser")
        if touser not in self.followers:  # unfollowed after writing to us: 45015, never seen: 40003
            raise ApiError(45015 if touser in self._interacted else 40003)
        window = self._windows.get(touser)
        if window is None or self.clock() - window.opened_at > CS_WINDOW:
            raise ApiError(45015)
        if window.used >= CS_QUOTA:
            raise ApiError(45047)
        window.used += 1
        self._accept("custom", body)
        return OK

    async def _template_send(self, request: web.Request) -> dict[str, Any]:
        """POST message/template/send: known template, following user, client_msg_id dedupe."""
        body = await self._json(request)
        if _str(body, "template_id") not in self.templates:
            raise ApiError(40037)
        touser = _str(body, "touser")
        if touser not in self.followers:
            raise ApiError(43004)
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(item, dict) and isinstance(item.get("value"), str) for item in data.values()
        ):
            raise ApiError(47003)
        key = (touser, _str(body, "client_msg_id"))
        if key[1] and key in self._client_msg_ids:
            return {**OK, "msgid": self._client_msg_ids[key]}
        msgid = self._accept("template", body)
        if key[1]:
            self._client_msg_ids[key] = msgid
        return {**OK, "msgid": msgid}

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        """GET media/get: the raw bytes as an attachment, or 40007."""
        media_id = request.query.get("media_id", "")
        if media_id not in self.media:
            raise ApiError(40007)
        content, content_type = self.media[media_id]
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        headers = {
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{media_id}{extension}"',
        }
        return web.Response(body=content, headers=headers)
