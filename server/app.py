"""The aiohttp application."""

from __future__ import annotations

from aiohttp import web

from server import api
from server.errors import TEMPLATES, VOCABULARY, error_middleware
from ticketing.desk import Desk
from ticketing.group_commit import GroupCommitter

MAX_BODY_BYTES = 256 * 1024


def build_app(desk: Desk) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, api.auth_middleware], client_max_size=MAX_BODY_BYTES
    )
    app[api.DESK] = desk
    committer = GroupCommitter(desk)
    app[api.INTAKE] = committer

    async def start_intake(_: web.Application) -> None:
        await committer.start()

    async def stop_intake(_: web.Application) -> None:
        await committer.stop()

    app.on_startup.append(start_intake)
    app.on_cleanup.append(stop_intake)
    app[TEMPLATES] = desk.templates
    app[VOCABULARY] = desk.vocabulary
    app.add_routes(api.routes)
    return app
