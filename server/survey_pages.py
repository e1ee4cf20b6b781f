"""The survey page users open from the e-mail link: `/survey/{token}` (no login: the token is
the key; one answer, within 7 days). Server-rendered, mobile-friendly, no JavaScript."""

from __future__ import annotations

from aiohttp import web
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.engine import Connection

from server.api import DESK
from ticketing import surveys
from ticketing.desk import Desk

routes = web.RouteTableDef()
PAGES: web.AppKey[Environment] = web.AppKey("survey_pages", Environment)


def pages(folder: str) -> Environment:
    return Environment(loader=FileSystemLoader(folder), autoescape=True)


def _choices(desk: Desk) -> list[tuple[str, str]]:
    return [(value, desk.vocabulary.label("satisfaction", value)) for value in surveys.SCALE]


def _page(request: web.Request, name: str, status: int = 200, **context: object) -> web.Response:
    html = request.app[PAGES].get_template(name).render(**context)
    return web.Response(text=html, content_type="text/html", status=status)


@routes.get("/survey/{token}")
async def survey_form(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    token = request.match_info["token"]
    state, _ = await desk.transact(lambda conn: surveys.form_state(conn, token, desk.clock()))
    status = 200 if state.usable else (404 if state.reason == "unknown" else 410)
    return _page(request, "survey.html.j2", status, state=state, choices=_choices(desk))


@routes.post("/survey/{token}")
async def survey_answer(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    form = await request.post()
    satisfaction = str(form.get("satisfaction", ""))
    comment = str(form.get("comment", "")).strip()[:2000]

    def answer(conn: Connection) -> tuple[surveys.FormState, bool]:
        # the check and the answer in one transaction
        state, survey_id = surveys.form_state(conn, request.match_info["token"], desk.clock())
        if not state.usable or satisfaction not in surveys.SCALE or survey_id is None:
            return state, False
        surveys.record_answer(desk, conn, survey_id, satisfaction, comment or None,
                              "survey-form", desk.clock())
        return state, True

    state, done = await desk.transact(answer)
    if not done:
        status = 400 if state.usable else (404 if state.reason == "unknown" else 410)
        return _page(request, "survey.html.j2", status, state=state, choices=_choices(desk),
                     error="请选择一项评价" if state.usable else None)
    return _page(request, "survey_done.html.j2", ticket_no=state.ticket_no,
                 label=desk.vocabulary.label("satisfaction", satisfaction),
                 follow_up=satisfaction in ("dissatisfied", "very_dissatisfied"))
