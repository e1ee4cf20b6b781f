"""API errors: JSON bodies with a code for programs and a Chinese message for people."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ticketing.complaints import (
    ComplaintNotFound,
    IllegalComplaintMove,
    RemedyMissing,
    complaint_no,
)
from ticketing.fields import InvalidField
from ticketing.intake import UnknownVendor
from ticketing.lifecycle import IllegalTransition, MissingField, UnknownField, UnknownStatus
from ticketing.surveys import NoSurvey
from ticketing.tasks import TaskNotFound
from ticketing.vocabulary import Templates, Vocabulary
from ticketing.workflow import TicketNotFound

log = logging.getLogger(__name__)

TEMPLATES: web.AppKey[Templates] = web.AppKey("templates", Templates)
VOCABULARY: web.AppKey[Vocabulary] = web.AppKey("vocabulary", Vocabulary)


class ApiError(Exception):
    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


def _translate(exc: Exception, vocabulary: Vocabulary) -> ApiError | None:
    """Domain exceptions -> API errors; None for anything unexpected."""
    status_label = lambda s: vocabulary.label("status", s)  # noqa: E731
    match exc:
        case ApiError():
            return exc
        case TicketNotFound():
            return ApiError(404, "not_found", ticket_no=exc.ticket_no)
        case IllegalTransition():
            return ApiError(
                409,
                "illegal_transition",
                ticket_no="",
                current=status_label(exc.current),
                target=status_label(exc.target),
            )
        case MissingField():
            return ApiError(400, "transition_missing", target=status_label(exc.target),
                            field=exc.field)
        case UnknownField():
            return ApiError(400, "transition_unknown", target=status_label(exc.target),
                            field=exc.field)
        case UnknownStatus():
            return ApiError(400, "unknown_status", value=exc.value)
        case InvalidField():
            return ApiError(400, "invalid_value", field=exc.field, detail=exc.detail)
        case UnknownVendor():
            return ApiError(400, "unknown_vendor", name=exc.name)
        case ComplaintNotFound():
            return ApiError(404, "complaint_not_found", complaint=complaint_no(exc.complaint_id))
        case IllegalComplaintMove():
            label = lambda s: vocabulary.label("complaint_status", s)  # noqa: E731
            return ApiError(409, "complaint_illegal", current=label(exc.current),
                            target=label(exc.target))
        case RemedyMissing():
            return ApiError(400, "remedy_missing")
        case TaskNotFound():
            return ApiError(404, "task_not_found", task=exc.task_id)
        case NoSurvey():
            reason = "没有满意度调查" if exc.reason == "none" else "的满意度调查已有回答"
            return ApiError(409, "no_survey", ticket_no=exc.ticket_no, reason=reason)
    return None


def error_response(templates: Templates, error: ApiError) -> web.Response:
    message = templates.error(error.code, **error.params)
    return web.json_response(
        {"error": {"code": error.code, "message": message}}, status=error.status
    )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    templates = request.app[TEMPLATES]
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        error = ApiError(413, "body_too_large", limit=request.client_max_size)
        return error_response(templates, error)
    except web.HTTPNotFound:
        return error_response(templates, ApiError(404, "route_not_found", path=request.path))
    except web.HTTPException:
        raise
    except Exception as exc:
        error = _translate(exc, request.app[VOCABULARY])
        if error is not None:
            if error.code == "illegal_transition":
                error.params["ticket_no"] = request.match_info.get("ticket_no", "")
            return error_response(templates, error)
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", ref, request.method, request.path)
        return error_response(templates, ApiError(500, "internal", ref=ref))
