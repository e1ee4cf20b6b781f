"""The OpenAPI document: valid, complete, and true to the running server (schemathesis).

The server runs on the test's event loop; schemathesis is synchronous (requests), so each run
goes to a worker thread and talks to the real port.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import tomllib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import hypothesis
import jsonschema
import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from schemathesis.checks import not_a_server_error
from schemathesis.models import Status
from schemathesis.runner import events
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_30
from schemathesis.stateful import Stateful

from server import calls_api, openapi
from server.app import build_app, make_runner
from ticketing import fields
from ticketing.access import create_token
from ticketing.corrections import CORRECTABLE
from ticketing.desk import Desk
from ticketing.directory import add_vendor
from ticketing.fields import SETTABLE_AT_INTAKE
from ticketing.lifecycle import STEPS
from ticketing.queries import FIELD_IDS

DOCUMENT = openapi.DOCUMENT
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPERATIONS = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in HTTP_METHODS
]
# routes that are not part of the REST API
# not the REST API: the WeChat webhook and the HTML survey pages users open from a link
UNDOCUMENTED = re.compile(r"^/(wechat|survey/)")
CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance)
SETTINGS = hypothesis.settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)
# the ticket every test starts with: the document's example ticket number, so the explicit
# examples reach a real ticket
SEED = {
    "description": "横州市某局的打印机卡纸，无法打印",
    "org_name": "横州市某局",
    "contact_name": "李工",
    "contact_phone": "13607710003",
    "product_category": "peripheral",
    "primary_vendor": "甲公司",
    "secondary_vendors": ["乙公司"],
    "sale_date": "2025-03-01",
}

# the run is as an agent, except where only a vendor or a supervisor may act
TOKEN_FOR = {
    ("POST", "/api/v1/tickets/{ticket_no}/transfer/accept"): "supervisor",
    ("POST", "/api/v1/tickets/{ticket_no}/transfer/refuse"): "supervisor",
}
# requests at the edges of what the document allows: each must be refused with a 400, never
# crash (found by schemathesis and by hand; all answered 500 before the input checks)
Y1 = "0001-01-01T00:00:00+08:00"
EDGE_CASES: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("reported_at-year-1", "POST", "/api/v1/tickets",
     {"description": "打印机卡纸", "reported_at": Y1}),
    ("sale_date-9999", "POST", "/api/v1/tickets",
     {"description": "打印机卡纸", "sale_date": "9999-01-01"}),
    ("description-NUL", "POST", "/api/v1/tickets", {"description": "打印机\u0000卡纸"}),
    ("secondary_vendors-NUL", "POST", "/api/v1/tickets",
     {"description": "打印机卡纸", "secondary_vendors": ["\u0000ö"]}),
    ("list-to-9999", "GET", "/api/v1/tickets?to=9999-12-31", None),
    ("list-from-year-1", "GET", "/api/v1/tickets?from=0001-01-01", None),
    ("hotline-to-9999", "GET", "/api/v1/metrics/hotline?to=9999-12-31", None),
    ("hotline-from-year-1", "GET", "/api/v1/metrics/hotline?from=0001-01-01", None),
    ("transition-at-year-1", "POST", f"/api/v1/tickets/{openapi.EXAMPLE_TICKET_NO}/transitions",
     {"to": "accepted", "at": Y1}),
    ("call-started-year-1", "POST", "/api/v1/calls",
     {"caller": "13607710003", "started_at": Y1}),
    ("call-caller-too-long", "POST", "/api/v1/calls",
     {"caller": "1" * 60, "started_at": "2026-11-27T08:00:00+08:00"}),
    ("call-caller_name-too-long", "POST", "/api/v1/calls",
     {"caller": "13607710003", "caller_name": "李" * 150, "summary": "打印机卡纸",
      "started_at": "2026-11-27T08:00:00+08:00"}),
    ("ticket_no-NUL", "GET", "/api/v1/tickets/XC%00", None),
    ("transfer-ticket_no-NUL", "POST", "/api/v1/tickets/XC%00/transfer",
     {"to_vendor": "乙公司", "reason": "x"}),
    ("phone-NUL", "GET", "/api/v1/callers/a%00", None),
]


@dataclass
class Served:
    base: str
    app: web.Application
    desk: Desk
    tokens: dict[str, str]
    seed: dict[str, Any]

    def headers(self, who: str = "agent") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def openapi_app(desk: Desk) -> web.Application:
    app = build_app(desk)
    if not any(r.resource.canonical == openapi.OPENAPI_PATH for r in app.router.routes()):
        app.add_routes(openapi.routes)
    return app


@pytest.fixture
async def served(desk: Desk) -> AsyncIterator[Served]:
    now = desk.clock()
    async with desk.uow() as uow:
        for name in ("甲公司", "乙公司"):
            await add_vendor(uow.session, name, now)
        tokens = {
            "agent": await create_token(uow.session, "agent", now, label="test"),
            "supervisor": await create_token(uow.session, "supervisor", now),
        }
        await uow.commit()
    app = openapi_app(desk)
    runner = make_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    headers = {"Authorization": f"Bearer {tokens['agent']}"}
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{base}/api/v1/tickets", json=SEED, headers=headers) as resp,
        ):
            seed = await resp.json()
            assert resp.status == 201, seed
        assert seed["ticket_no"] == openapi.EXAMPLE_TICKET_NO
        yield Served(base, app, desk, tokens, seed)
    finally:
        await runner.cleanup()


# --- the document itself -------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_document_is_valid_openapi_3() -> None:
    jsonschema.Draft4Validator(OPENAPI_30).validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.0.3"
    for target in set(_refs(DOCUMENT)):
        node: Any = DOCUMENT
        assert target.startswith("#/"), target
        for part in target[2:].split("/"):
            assert part in node, f"dangling $ref {target}"
            node = node[part]
    ids = [DOCUMENT["paths"][p][m.lower()]["operationId"] for m, p in OPERATIONS]
    assert len(ids) == len(set(ids))
    for path, item in DOCUMENT["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
    # schemathesis accepts it too (it validates against the same meta-schema)
    schemathesis.from_dict(DOCUMENT, validate_schema=True)


def test_document_uses_the_servers_names() -> None:
    toml = Path(__file__).parents[2] / "config" / "templates" / "zh-CN" / "errors.toml"
    with toml.open("rb") as fh:
        assert set(openapi.ERROR_CODES) == set(tomllib.load(fh))
    schemas = DOCUMENT["components"]["schemas"]
    assert tuple(openapi.TICKET_FIELDS) == FIELD_IDS
    assert set(schemas["NewTicket"]["properties"]) == SETTABLE_AT_INTAKE | {
        "description",
        "reported_at",
    }
    assert openapi.TEXT_LIMITS == fields._TEXT_LIMITS
    assert set(schemas["TriageCorrection"]["properties"]) == set(CORRECTABLE)
    assert set(schemas["NewCall"]["properties"]) == calls_api._CALL_FIELDS
    lifecycle_fields = {f for step in STEPS.values() for f in step.requires + step.allowed}
    assert set(schemas["Transition"]["properties"]) == lifecycle_fields | {"to", "at"}


async def test_every_route_is_documented(desk: Desk) -> None:
    app = openapi_app(desk)
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and not UNDOCUMENTED.match(r.resource.canonical)
    }
    covered = set()
    for method, path in OPERATIONS:
        # a concrete URL of the documented path must reach a route with that method
        url = re.sub(r"{\w+}", "XC-20261127-0001", path)
        match = await app.router.resolve(make_mocked_request(method, url, app=app))
        assert match.http_exception is None, (method, path, match.http_exception)
        route = match.route
        assert route.method == method and route.resource is not None, (method, path)
        covered.add((route.method, route.resource.canonical))
    assert routes - covered == set(), "routes missing from the document"


# --- the document against the running server ----------------------------------------------


async def test_served_document(served: Served) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(served.base + openapi.OPENAPI_PATH, headers=served.headers()) as resp,
    ):
        assert resp.status == 200
        assert await resp.json() == DOCUMENT


async def test_served_document_needs_no_token(served: Served) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(served.base + openapi.OPENAPI_PATH) as resp,
    ):
        assert resp.status == 200


async def test_ticket_views_have_exactly_the_documented_fields(served: Served) -> None:
    schemas = DOCUMENT["components"]["schemas"]
    async with aiohttp.ClientSession() as http:
        url = f"{served.base}/api/v1/tickets"
        async with http.get(f"{url}/{served.seed['ticket_no']}", headers=served.headers()) as r:
            ticket = await r.json()
        async with http.get(url, headers=served.headers()) as r:
            listing = await r.json()
    assert set(ticket) == set(schemas["Ticket"]["properties"])
    assert set(listing["items"][0]) == set(schemas["TicketSummary"]["properties"])


def _decode(body: str | None) -> str:
    if body is None:
        return ""
    return base64.b64decode(body).decode("utf-8", "replace")[:2000]


def _run_schemathesis(base: str, token: str, method: str, path: str) -> list[str]:
    """Run the checks over one operation; a line per failure or error."""
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.from_uri(
        base + openapi.OPENAPI_PATH, base_url=base, headers=auth
    ).include(method=method, path=path)
    runner = schemathesis.runner.from_schema(
        schema,
        checks=CHECKS,
        hypothesis_settings=SETTINGS,
        headers=auth,
        request_timeout=10_000,
        stateful=Stateful.none,
        no_failfast=True,
    )
    problems: list[str] = []
    ran = 0
    for event in runner.execute():
        if isinstance(event, events.InternalError):
            problems.append(f"schemathesis internal error: {event.exception_with_traceback}")
        if not isinstance(event, events.AfterExecution):
            continue
        ran += 1
        for err in event.result.errors:
            problems.append(f"{event.verbose_name}: error {err.exception_with_traceback}")
        seen = set()
        for check in event.result.checks:
            if check.value != Status.failure or (check.name, check.message) in seen:
                continue
            seen.add((check.name, check.message))
            req, resp = check.request, check.response
            problems.append(
                f"{event.verbose_name}: {check.name}: {check.message}\n"
                f"  request: {req.method} {req.uri} body={_decode(req.body)!r}\n"
                f"  response: {resp.status_code if resp else None} "
                f"{_decode(resp.body) if resp else ''!r}"
            )
    if ran != 1:
        problems.append(f"expected one operation run for {method} {path}, got {ran}")
    return problems


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_schemathesis_finds_no_server_error_or_schema_violation(
    served: Served,
    method: str,
    path: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="server.errors")
    token = served.tokens[TOKEN_FOR.get((method, path), "agent")]
    problems = await asyncio.to_thread(_run_schemathesis, served.base, token, method, path)
    tracebacks = [
        f"server: {r.getMessage()}: {r.exc_info[1]!r}"
        for r in caplog.records
        if r.name == "server.errors" and r.exc_info
    ]
    assert not problems, "\n".join(problems + sorted(set(tracebacks)))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [case[1:] for case in EDGE_CASES],
    ids=[case[0] for case in EDGE_CASES],
)
async def test_edge_values_are_refused_not_crashed(
    served: Served, method: str, path: str, body: dict[str, Any] | None
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, served.base + path, json=body, headers=served.headers()) as resp,
    ):
        answer = await resp.json()
    assert resp.status == 400, answer
    assert answer["error"]["code"] == "invalid_value"
