"""The aiohttp app on a real port, with tokens for each role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from server.app import build_app, make_runner
from ticketing.access import create_token
from ticketing.desk import Desk
from ticketing.directory import add_vendor


@dataclass
class Api:
    base: str
    desk: Desk
    http: aiohttp.ClientSession
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def call(
        self, method: str, path: str, who: str | None = "agent", **kw: object
    ) -> tuple[int, dict]:
        headers = self.headers(who) if who else {}
        headers.update(kw.pop("headers", {}))  # type: ignore[arg-type]
        async with self.http.request(method, self.base + path, headers=headers, **kw) as resp:
            return resp.status, await resp.json()


@pytest.fixture
async def api(desk: Desk) -> AsyncIterator[Api]:
    now = desk.clock()
    async with desk.uow() as uow:
        for name in ("甲公司", "乙公司"):
            await add_vendor(uow.session, name, now)
        tokens = {
            "agent": await create_token(uow.session, "agent", now, label="test"),
            "supervisor": await create_token(uow.session, "supervisor", now),
            "vendor_a": await create_token(uow.session, "vendor", now, vendor="甲公司"),
            "vendor_b": await create_token(uow.session, "vendor", now, vendor="乙公司"),
        }
        await uow.commit()
    runner = make_runner(build_app(desk))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        yield Api(f"http://127.0.0.1:{port}", desk, http, tokens)
    await runner.cleanup()
