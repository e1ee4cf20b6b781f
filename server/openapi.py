"""The OpenAPI 3.0.3 document of the REST API, written by hand, served at /api/v1/openapi.json.

Kept next to the handlers it describes (server/api.py, calls_api.py, vendor_api.py); the tests
check it against every registered route and run schemathesis over it. The WeChat webhook
(/wechat) speaks WeChat's XML protocol and is not part of this API.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web

from classifier.triage import CATEGORIES, LEVELS
from ticketing.lifecycle import Status

Schema = dict[str, Any]

OPENAPI_PATH = "/api/v1/openapi.json"
STATUSES: list[str] = [s.value for s in Status]
HANDLING_MODES = ["online", "onsite"]
# every `error.code` the API answers with (config/templates/zh-CN/errors.toml)
ERROR_CODES = [
    "unauthorized",
    "forbidden",
    "not_found",
    "route_not_found",
    "bad_json",
    "body_not_object",
    "unknown_field",
    "missing_field",
    "invalid_value",
    "illegal_transition",
    "transition_missing",
    "transition_unknown",
    "unknown_status",
    "unknown_vendor",
    "body_too_large",
    "internal",
    "transfer_refused",
    "complaint_not_found",
    "complaint_illegal",
    "remedy_missing",
    "task_not_found",
    "no_survey",
]
EXAMPLE_TICKET_NO = "XC-20261127-0001"


def _version() -> str:
    try:
        return version("xcdesk")
    except PackageNotFoundError:
        return "0.0.0"


# --- small schema helpers ----------------------------------------------------------------


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def nullable(schema: Schema) -> Schema:
    """`schema` or null; an enum lists null too, as OpenAPI 3.0.3 asks."""
    out = {**schema, "nullable": True}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def enum(values: list[str] | tuple[str, ...], description: str | None = None) -> Schema:
    return string(description, enum=list(values))


def obj(
    properties: dict[str, Schema],
    required: list[str] | tuple[str, ...] = (),
    *,
    closed: bool = False,
    description: str | None = None,
) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


DATE_TIME = string(format="date-time")
DATE = string(format="date")
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
# a text the server strips and refuses when blank
NON_BLANK = string(pattern=r"\S")


def json_body(schema: Schema, example: Any = None, required: bool = True) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": required, "content": {"application/json": media}}


def json_response(description: str, schema: Schema, headers: Schema | None = None) -> Schema:
    response: Schema = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def error(name: str) -> Schema:
    return {"$ref": f"#/components/responses/{name}"}


def errors(*statuses: int) -> dict[str, Schema]:
    """The shared error responses by status; 401 and 500 come with every /api/ operation."""
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        413: "TooLarge",
        500: "Internal",
    }
    return {str(s): error(names[s]) for s in sorted({*statuses, 401, 500})}


def path_param(name: str, description: str, example: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": string(),
        "example": example,
    }


def query_param(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


TICKET_NO = path_param("ticket_no", "工单编号 (ticket number)", EXAMPLE_TICKET_NO)
IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The client's own key for this request: a retry with the same key (by the "
    "same token holder) changes nothing and answers what the first request did.",
    "schema": string(),
}
DAY_OR_MOMENT: Schema = {
    "type": "string",
    "anyOf": [{"format": "date"}, {"format": "date-time"}],
}
FROM_PARAM = query_param(
    "from", DAY_OR_MOMENT,
    "Start: a local calendar day (YYYY-MM-DD, from 00:00 of that day in the desk's zone) or an "
    "ISO 8601 time with its zone.",
)
TO_PARAM = query_param(
    "to", DAY_OR_MOMENT,
    "End: a local calendar day (inclusive) or an ISO 8601 time with its zone (exclusive).",
)

# --- components ----------------------------------------------------------------------------

ERROR = obj(
    {
        "error": obj(
            {
                "code": enum(ERROR_CODES, "Stable code for programs."),
                "message": string("What went wrong, in Chinese, for people."),
            },
            ["code", "message"],
        )
    },
    ["error"],
    description="Every API error. Details (field, role, reference number) are in the message.",
)

TRIAGE = obj(
    {
        "level": enum(LEVELS),
        "category": enum(CATEGORIES),
        "complaint": BOOLEAN,
        "brand": nullable(string()),
        "model": nullable(string()),
        "location": nullable(
            obj(
                {
                    "city": string(),
                    "district": string(),
                    "code": string(),
                    "same_city": BOOLEAN,
                }
            )
        ),
        "confidence": {"type": "number"},
        "scores": {
            "type": "object",
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
        },
        "overrides": array(string()),
        "source": string(),
        "needs_review": BOOLEAN,
        "set_by_person": array(string()),
    },
    description="What the classifier decided when the ticket was opened, and which labels a "
    "person set instead.",
)

# the work order under its field ids (ticketing/queries.py FIELD_IDS), in that order
TICKET_FIELDS: dict[str, Schema] = {
    "ticket_no": string("工单编号", example=EXAMPLE_TICKET_NO),
    "status": enum(STATUSES, "工单状态"),
    "org_name": nullable(string("单位名称")),
    "contact_name": nullable(string("联系人")),
    "contact_phone": nullable(
        string("联系电话; masked (138****5678) for a vendor that is only secondary")
    ),
    "channel": enum(["online", "email", "phone"], "问题反馈渠道"),
    "channel_detail": enum(["wechat", "web", "api", "email", "phone"]),
    "reported_at": DATE_TIME,
    "accepted_at": nullable(DATE_TIME),
    "created_at": DATE_TIME,
    "handling_mode": nullable(enum(HANDLING_MODES, "处理方式")),
    "responded_at": nullable(DATE_TIME),
    "arrived_at": nullable(DATE_TIME),
    "completed_at": nullable(DATE_TIME),
    "product_category": enum(CATEGORIES),
    "product_brand": nullable(string()),
    "product_model": nullable(string()),
    "solution": nullable(string()),
    "closed_at": nullable(DATE_TIME),
    "rated": BOOLEAN,
    "satisfaction": nullable(string()),
    "follow_up_feedback": nullable(string()),
    "level": enum(LEVELS, "问题等级"),
    "complaint": BOOLEAN,
    "description": string(),
    "site_district": nullable(string()),
    "same_city": nullable(BOOLEAN),
    "respond_due": DATE_TIME,
    "arrive_due": DATE_TIME,
    "resolve_due": DATE_TIME,
    "primary_vendor": nullable(string("主责企业")),
    "secondary_vendors": array(string()),
    "responsibility_basis": nullable(
        string("How the primary was decided: signed_by, first_inquiry, arbitration, or the "
               "contracts registry's basis")
    ),
    "escalation_tier": INTEGER,
    "sale_date": nullable(DATE),
    "in_free_period": nullable(BOOLEAN),
    "needs_review": BOOLEAN,
}
TICKET_SUMMARY = obj(
    {
        **TICKET_FIELDS,
        "triage": TRIAGE,
        "free_period_until": string("Last day of free service; only with a sale_date",
                                    format="date"),
        "service_period_until": string("Last day of service; only with a sale_date",
                                       format="date"),
    },
    list(TICKET_FIELDS) + ["triage"],
    description="A work order as the caller may see it (list item).",
)
NOTICE = obj(
    {
        "id": INTEGER,
        "kind": string(example="ack"),
        "channel": string(example="wechat"),
        "status": enum(["pending", "sent", "dead"]),
        "attempts": INTEGER,
        "last_error": nullable(string()),
        "created_at": DATE_TIME,
        "sent_at": nullable(DATE_TIME),
    },
    ["id", "kind", "channel", "status", "attempts", "last_error", "created_at", "sent_at"],
)
ATTACHMENT = obj(
    {
        "id": INTEGER,
        "filename": nullable(string()),
        "content_type": nullable(string()),
        "size": nullable(INTEGER),
        "status": enum(["pending", "stored", "failed"]),
        "channel": string(),
    },
    ["id", "filename", "content_type", "size", "status", "channel"],
)
TICKET = obj(
    {
        **TICKET_SUMMARY["properties"],
        "notices": array(ref("Notice")),
        "attachments": array(ref("Attachment")),
    },
    TICKET_SUMMARY["required"] + ["notices", "attachments"],
    description="One work order with what went out about it and the files that came with it.",
)
TICKET_LIST = obj(
    {
        "total": INTEGER,
        "page": INTEGER,
        "per_page": INTEGER,
        "items": array(ref("TicketSummary")),
    },
    ["total", "page", "per_page", "items"],
)
OPEN_TICKET = obj(
    {
        "ticket_no": string(),
        "status": enum(STATUSES),
        "level": enum(LEVELS),
        "description": string("First 60 characters"),
    },
    ["ticket_no", "status", "level", "description"],
)
CALLER = obj(
    {
        "phone": string("The number, normalised (digits, +86 folded away)"),
        "name": nullable(string()),
        "org_name": nullable(string()),
        "open_tickets": array(ref("OpenTicket")),
    },
    ["phone", "name", "org_name", "open_tickets"],
)
OUTCOMES = ["created", "appended", "duplicate", "profiled", "new_issue_prompt", "ignored",
            "throttled"]
CALL_LOGGED = obj(
    {
        "call_id": INTEGER,
        "matched_pbx_record": BOOLEAN,
        "callbacks_closed": INTEGER,
        "ticket": nullable(
            obj(
                {
                    "ticket_no": string(),
                    "outcome": enum(OUTCOMES),
                    "level": nullable(enum(LEVELS)),
                    "status": nullable(enum(STATUSES)),
                },
                ["ticket_no", "outcome", "level", "status"],
                description="The ticket the call opened or joined; null for a call without "
                "summary or ticket number",
            )
        ),
        "caller": ref("Caller"),
    },
    ["call_id", "matched_pbx_record", "callbacks_closed", "ticket", "caller"],
)
CALLBACK = obj(
    {
        "id": INTEGER,
        "caller": string(),
        "caller_name": nullable(string()),
        "started_at": DATE_TIME,
        "outcome": enum(["answered", "abandoned", "busy", "failed"]),
    },
    ["id", "caller", "caller_name", "started_at", "outcome"],
)
FIGURES = obj(
    {
        "calls": INTEGER,
        "answered": INTEGER,
        "answered_within_30s": INTEGER,
        "answered_within_30s_rate": nullable({"type": "number"}),
        "abandoned": INTEGER,
        "average_wait_seconds": nullable({"type": "number"}),
        "p90_wait_seconds": nullable({"type": "number"}),
    },
    ["calls", "answered", "answered_within_30s", "answered_within_30s_rate", "abandoned",
     "average_wait_seconds", "p90_wait_seconds"],
)
RATE = nullable({"type": "number", "minimum": 0, "maximum": 1})
_SLA_STEP = obj({"due": {"type": "integer"}, "met": {"type": "integer"}, "rate": RATE},
                ["due", "met", "rate"], closed=True)
SERVICE_RATES = obj(
    {
        "tickets": {"type": "integer"},
        "completion_rate": RATE,
        "complaints": {"type": "integer"},
        "complaint_resolution_rate": RATE,
        "complaints_by_status": obj({st: {"type": "integer"} for st in (
            "received", "investigating", "remedied", "confirmed")}, closed=True,
            description="the latest complaint of each ticket, by status in the ledger"),
        "satisfaction": obj({level: {"type": "integer"} for level in (
            "very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")},
            closed=True, description="answers per level"),
        "satisfaction_score": nullable({"type": "number", "minimum": 1, "maximum": 5}),
        "survey_response_rate": RATE,
        "sla": obj({"respond": _SLA_STEP, "arrive": _SLA_STEP, "resolve": _SLA_STEP},
                   ["respond", "arrive", "resolve"], closed=True),
    },
    ["tickets", "completion_rate", "complaints", "complaint_resolution_rate",
     "complaints_by_status", "satisfaction", "satisfaction_score", "survey_response_rate",
     "sla"],
    closed=True,
)
SERVICE_REPORT = obj(
    {
        "total": ref("ServiceRates"),
        "by_vendor": {"type": "object", "description": "By primary company",
                      "additionalProperties": ref("ServiceRates")},
        "by_month": {"type": "object", "description": "By local month (YYYY-MM)",
                     "additionalProperties": ref("ServiceRates")},
    },
    ["total", "by_vendor", "by_month"],
    closed=True,
)
HOTLINE_REPORT = obj(
    {
        "total": ref("Figures"),
        "by_day": {
            "type": "object",
            "description": "By local day (YYYY-MM-DD)",
            "additionalProperties": ref("Figures"),
        },
        "by_hour": {
            "type": "object",
            "description": "By local hour of day (00–23)",
            "additionalProperties": ref("Figures"),
        },
    },
    ["total", "by_day", "by_hour"],
)

TEXT_LIMITS = {
    "org_name": 200,
    "contact_name": 100,
    "contact_phone": 40,
    "site_district": 50,
    "product_brand": 100,
    "product_model": 100,
    "primary_vendor": 200,
}
NEW_TICKET = obj(
    {
        "description": string("The report text (问题描述)", pattern=r"\S"),
        "reported_at": nullable(
            string("When the user reported it (ISO 8601 with zone, not in the future); "
                   "default: now", format="date-time")
        ),
        **{name: nullable(string(maxLength=limit)) for name, limit in TEXT_LIMITS.items()},
        "level": nullable(enum(LEVELS)),
        "product_category": nullable(enum(CATEGORIES)),
        "handling_mode": nullable(enum(HANDLING_MODES)),
        "complaint": nullable(BOOLEAN),
        "secondary_vendors": nullable(array(string())),
        "sale_date": nullable(DATE),
    },
    ["description"],
    closed=True,
    description="A new work order. Fields a person sets take precedence over the triage; "
    "vendors named must be registered. Unknown fields are refused.",
)
TRIAGE_CORRECTION = obj(
    {
        "level": enum(LEVELS),
        "product_category": enum(CATEGORIES),
        "complaint": BOOLEAN,
    },
    closed=True,
    description="The triage labels a person corrects; kept for retraining. Unknown fields are "
    "refused.",
)
TRANSITION = obj(
    {
        "to": enum(STATUSES, "The target status"),
        "at": string("Back-dates the step (agents and supervisors only); ISO 8601 with zone, "
                     "not in the future", format="date-time"),
        "handling_mode": enum(HANDLING_MODES, "responded"),
        "engineer": string("responded, onsite"),
        "plan": string("responded"),
        "expected_arrival": string("responded"),
        "solution": string("resolved: required", pattern=r"\S"),
        "reason": string("reopened: required", pattern=r"\S"),
    },
    ["to"],
    description="One lifecycle step. Each target takes only its own fields (in brackets in "
    "each field's description); any other non-null field is refused with "
    "transition_unknown. received → accepted → responded → (onsite) → resolved → closed; "
    "reopened returns a resolved or closed ticket to work. A vendor may move only to "
    "accepted, responded, onsite and resolved.",
)
NEW_CALL = obj(
    {
        "caller": string("The calling number", pattern=r"\S"),
        "started_at": string("ISO 8601 with zone, not in the future", format="date-time"),
        "answered_at": nullable(string("Not before started_at", format="date-time")),
        "ended_at": nullable(DATE_TIME),
        "summary": nullable(string("A summary opens a work order (channel phone)")),
        "ticket_no": nullable(string("The call is about this ticket: it joins it")),
        "caller_name": nullable(string()),
        "org_name": nullable(string()),
        "direction": enum(["in", "out"], "out: the agent called back; default in"),
    },
    ["caller", "started_at"],
    closed=True,
    description="A call an agent logs. Unknown fields are refused.",
)
TRANSFER_REQUEST = obj(
    {
        "to_vendor": string("The registered company asked to take the ticket", pattern=r"\S"),
        "reason": string(pattern=r"\S"),
    },
    ["to_vendor", "reason"],
)
TRANSFER_ACCEPT = obj({"reason": string("Optional note")})
TRANSFER_REFUSE = obj({"reason": string("Why the company refuses", pattern=r"\S")}, ["reason"])
RESPONSIBILITY = obj(
    {
        "vendor": string("The registered company that becomes primary", pattern=r"\S"),
        "note": string(),
    },
    ["vendor"],
)

ERROR_CONTENT = {"application/json": {"schema": ref("Error")}}
COMPLAINT_STATUSES = ("received", "investigating", "remedied", "confirmed")
TASK_KINDS = ("survey_call", "follow_up", "complaint_call")
SCALE = ("very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied")
COMPLAINT = obj(
    {
        "id": INTEGER,
        "complaint_no": string("投诉编号, TS + six digits"),
        "ticket_no": string(),
        "source": enum(["classifier", "message", "agent", "survey"]),
        "status": enum(COMPLAINT_STATUSES),
        "owner": string("Who follows it up (投诉追踪专岗)"),
        "summary": string(),
        "remedy": nullable(string("服务失误补救: what was done, as told to the user")),
        "user_response": nullable(string("What the user said of the remedy")),
        "received_at": DATE_TIME,
        "investigate_due": DATE_TIME,
        "remedy_due": DATE_TIME,
        "investigating_at": nullable(DATE_TIME),
        "remedied_at": nullable(DATE_TIME),
        "confirmed_at": nullable(DATE_TIME),
        "vendor": nullable(string("The primary company of the ticket when filed")),
    },
    ["id", "complaint_no", "ticket_no", "source", "status", "owner", "summary", "received_at",
     "investigate_due", "remedy_due"],
)
NEW_COMPLAINT = obj(
    {"summary": {**NON_BLANK, "maxLength": 4000}, "owner": string(maxLength=100)},
    ["summary"], closed=True,
)
COMPLAINT_MOVE = obj(
    {
        "to": enum(COMPLAINT_STATUSES),
        "owner": string(maxLength=100),
        "remedy": string("Required to move to remedied", maxLength=4000),
        "note": string("The user's answer to the remedy", maxLength=4000),
    },
    ["to"], closed=True,
)
TASK = obj(
    {
        "id": INTEGER,
        "kind": enum(TASK_KINDS),
        "role": enum(["agent", "supervisor"]),
        "ticket_no": string(),
        "title": string(),
        "phone": nullable(string()),
        "status": enum(["open", "done"]),
        "created_at": DATE_TIME,
        "due_at": DATE_TIME,
        "done_at": nullable(DATE_TIME),
        "done_by": nullable(string()),
        "note": nullable(string()),
        "complaint_id": nullable(INTEGER),
    },
    ["id", "kind", "role", "ticket_no", "title", "status", "created_at", "due_at"],
)
SURVEY_ANSWER = obj(
    {"satisfaction": enum(SCALE), "comment": string(maxLength=4000)},
    ["satisfaction"], closed=True,
)

COMPONENTS: Schema = {
    "securitySchemes": {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (xcdesk token create); its role is agent, supervisor or "
            "vendor.",
        }
    },
    "schemas": {
        "Error": ERROR,
        "Triage": TRIAGE,
        "TicketSummary": TICKET_SUMMARY,
        "Ticket": TICKET,
        "TicketList": TICKET_LIST,
        "Notice": NOTICE,
        "Attachment": ATTACHMENT,
        "NewTicket": NEW_TICKET,
        "TriageCorrection": TRIAGE_CORRECTION,
        "Transition": TRANSITION,
        "TransferRequest": TRANSFER_REQUEST,
        "TransferAccept": TRANSFER_ACCEPT,
        "TransferRefuse": TRANSFER_REFUSE,
        "Responsibility": RESPONSIBILITY,
        "NewCall": NEW_CALL,
        "CallLogged": CALL_LOGGED,
        "Caller": CALLER,
        "OpenTicket": OPEN_TICKET,
        "Callback": CALLBACK,
        "Figures": FIGURES,
        "HotlineReport": HOTLINE_REPORT,
        "Complaint": COMPLAINT,
        "NewComplaint": NEW_COMPLAINT,
        "ComplaintMove": COMPLAINT_MOVE,
        "Task": TASK,
        "SurveyAnswer": SURVEY_ANSWER,
        "ServiceRates": SERVICE_RATES,
        "ServiceReport": SERVICE_REPORT,
    },
    "responses": {
        name: {"description": description, "content": ERROR_CONTENT}
        for name, description in {
            "BadRequest": "The request is not acceptable (bad_json, body_not_object, "
            "unknown_field, missing_field, invalid_value, unknown_status, unknown_vendor, "
            "transition_missing, transition_unknown)",
            "Unauthorized": "No token, or not a valid one (unauthorized)",
            "Forbidden": "The token's role may not do this (forbidden)",
            "NotFound": "No such ticket, or not one the caller may see (not_found); or no such "
            "route (route_not_found)",
            "Conflict": "The ticket's state does not allow it (illegal_transition, "
            "transfer_refused)",
            "TooLarge": "The body is over the server's limit (body_too_large)",
            "Internal": "Unexpected server error (internal); the message carries a reference "
            "to find it in the log",
        }.items()
    },
}

# --- operations ----------------------------------------------------------------------------

STAFF = "Roles: agent, supervisor."
TICKET_RESPONSE = json_response("The ticket after the change", ref("Ticket"))

PATHS: Schema = {
    "/healthz": {
        "get": {
            "tags": ["meta"],
            "operationId": "healthz",
            "summary": "Liveness and database check",
            "security": [],
            "responses": {
                "200": json_response(
                    "The server and its database answer",
                    obj({"status": enum(["ok"])}, ["status"]),
                ),
                "500": error("Internal"),
            },
        }
    },
    OPENAPI_PATH: {
        "get": {
            "tags": ["meta"],
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": json_response("The OpenAPI 3.0.3 document", {"type": "object"}),
            },
        }
    },
    "/api/v1/tickets": {
        "post": {
            "tags": ["tickets"],
            "operationId": "createTicket",
            "summary": "Open a work order",
            "description": f"{STAFF} The report is triaged like any other channel's "
            "(channel_detail api).",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": json_body(
                ref("NewTicket"),
                {
                    "description": "横州市某局的打印机卡纸，无法打印",
                    "org_name": "横州市某局",
                    "contact_name": "李工",
                    "contact_phone": "13607710003",
                    "product_category": "peripheral",
                },
            ),
            "responses": {
                "201": json_response(
                    "Created",
                    ref("Ticket"),
                    {"Location": {"description": "The ticket's URL", "schema": string()}},
                ),
                "200": json_response(
                    "A repeat of an earlier request (same Idempotency-Key): its ticket",
                    ref("Ticket"),
                    {"Location": {"description": "The ticket's URL", "schema": string()}},
                ),
                **errors(400, 403, 413),
            },
        },
        "get": {
            "tags": ["tickets"],
            "operationId": "listTickets",
            "summary": "List work orders, newest report first",
            "description": "Roles: all; a vendor sees only tickets it is primary or secondary "
            "on. Unknown query parameters are refused.",
            "parameters": [
                query_param("status", enum(STATUSES), "Only this status"),
                query_param("level", enum(LEVELS), "Only this level"),
                query_param("category", enum(CATEGORIES), "Only this product category"),
                query_param("vendor", string(), "Only tickets this company is involved in"),
                FROM_PARAM,
                TO_PARAM,
                query_param("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                                     "default": 1}, "Page number"),
                query_param("per_page", {"type": "integer", "minimum": 1, "maximum": 200,
                                         "default": 50}, "Items per page"),
            ],
            "responses": {
                "200": json_response("One page of tickets", ref("TicketList")),
                **errors(400),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}": {
        "parameters": [TICKET_NO],
        "get": {
            "tags": ["tickets"],
            "operationId": "getTicket",
            "summary": "One work order",
            "description": "Roles: all; a vendor gets 404 for a ticket it is not involved in.",
            "responses": {
                "200": json_response("The ticket", ref("Ticket")),
                **errors(404),
            },
        },
        "patch": {
            "tags": ["tickets"],
            "operationId": "correctTriage",
            "summary": "Correct the triage (level, product category, complaint)",
            "description": STAFF,
            "requestBody": json_body(ref("TriageCorrection"), {"level": "P2"}),
            "responses": {
                "200": TICKET_RESPONSE,
                **errors(400, 403, 404, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/transitions": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["tickets"],
            "operationId": "transition",
            "summary": "Move a work order through its lifecycle",
            "description": "Roles: all (a vendor only on its own tickets and only to accepted, "
            "responded, onsite, resolved; back-dating with `at` is for staff).",
            "requestBody": json_body(ref("Transition"), {"to": "accepted"}),
            "responses": {
                "200": TICKET_RESPONSE,
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/transfer": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["responsibility"],
            "operationId": "requestTransfer",
            "summary": "Ask another company to take primary responsibility",
            "description": "Roles: vendor (the primary company), agent, supervisor. The company "
            "asked has 24 hours to answer before the liaison chain takes over.",
            "requestBody": json_body(
                ref("TransferRequest"), {"to_vendor": "乙公司", "reason": "设备由乙公司集成"}
            ),
            "responses": {
                "202": json_response("Requested; the ticket", ref("Ticket")),
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/transfer/accept": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["responsibility"],
            "operationId": "acceptTransfer",
            "summary": "Accept a pending transfer: the company asked becomes primary",
            "description": "Roles: vendor (the company asked), supervisor.",
            "requestBody": json_body(ref("TransferAccept"), {}, required=False),
            "responses": {
                "200": TICKET_RESPONSE,
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/transfer/refuse": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["responsibility"],
            "operationId": "refuseTransfer",
            "summary": "Refuse a pending transfer; it goes to the local liaison",
            "description": "Roles: vendor (the company asked), supervisor. The answer shows the "
            "ticket as staff see it (the refusing company may no longer see it).",
            "requestBody": json_body(ref("TransferRefuse"), {"reason": "非我司销售"}),
            "responses": {
                "200": TICKET_RESPONSE,
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/responsibility": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["responsibility"],
            "operationId": "decideResponsibility",
            "summary": "Decide the primary company",
            "description": f"{STAFF} An agent only while the ticket has no primary (first "
            "inquiry); a supervisor at any time (arbitration, ends an open transfer).",
            "requestBody": json_body(ref("Responsibility"), {"vendor": "甲公司"}),
            "responses": {
                "200": TICKET_RESPONSE,
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/calls": {
        "post": {
            "tags": ["hotline"],
            "operationId": "logCall",
            "summary": "Log a hotline call",
            "description": f"{STAFF} A summary opens a work order (channel phone); a ticket "
            "number joins that ticket; a call with the number of a missed call closes its "
            "callback task.",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": json_body(
                ref("NewCall"),
                {"caller": "13607710003", "started_at": "2026-11-27T08:55:00+08:00",
                 "answered_at": "2026-11-27T08:55:10+08:00", "summary": "打印机卡纸"},
            ),
            "responses": {
                "201": json_response("Logged", ref("CallLogged")),
                **errors(400, 403, 413),
            },
        }
    },
    "/api/v1/callers/{phone}": {
        "parameters": [path_param("phone", "The calling number", "13607710003")],
        "get": {
            "tags": ["hotline"],
            "operationId": "getCaller",
            "summary": "Who is calling: unit, name and open tickets of a number",
            "description": STAFF,
            "responses": {
                "200": json_response("What is known of the number", ref("Caller")),
                **errors(403, 404),
            },
        },
    },
    "/api/v1/callbacks": {
        "get": {
            "tags": ["hotline"],
            "operationId": "listCallbacks",
            "summary": "回拨任务: missed calls nobody has called back, oldest first",
            "description": STAFF,
            "responses": {
                "200": json_response(
                    "The open callback tasks",
                    obj({"items": array(ref("Callback"))}, ["items"]),
                ),
                **errors(403),
            },
        }
    },
    "/api/v1/metrics/hotline": {
        "get": {
            "tags": ["hotline"],
            "operationId": "hotlineMetrics",
            "summary": "Hotline figures from the PBX records: totals, by day, by hour",
            "description": STAFF,
            "parameters": [FROM_PARAM, TO_PARAM],
            "responses": {
                "200": json_response("The figures", ref("HotlineReport")),
                **errors(400, 403),
            },
        }
    },
    "/api/v1/metrics/service": {
        "get": {
            "tags": ["tickets"],
            "operationId": "serviceMetrics",
            "summary": "Completion, complaints resolved, satisfaction, survey response, SLA "
            "compliance: totals, by primary company, by month",
            "description": STAFF,
            "parameters": [FROM_PARAM, TO_PARAM],
            "responses": {
                "200": json_response("The rates", ref("ServiceReport")),
                **errors(400, 403),
            },
        }
    },
}

COMPLAINT_NO = path_param("complaint_no", "投诉编号", "TS000001")
PATHS.update({
    "/api/v1/complaints": {
        "get": {
            "tags": ["care"],
            "operationId": "listComplaints",
            "summary": "投诉台账: the complaint ledger, oldest first",
            "description": STAFF,
            "parameters": [
                query_param("status", enum(COMPLAINT_STATUSES), "Only complaints in it"),
                query_param("ticket_no", string(), "Only complaints about this ticket"),
            ],
            "responses": {
                "200": json_response("The complaints",
                                     obj({"items": array(ref("Complaint"))}, ["items"])),
                **errors(400, 403),
            },
        }
    },
    "/api/v1/tickets/{ticket_no}/complaints": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["care"],
            "operationId": "fileComplaint",
            "summary": "Enter a complaint about a ticket (the user is told it is received); "
            "a ticket with an open complaint gets the trigger noted on it",
            "description": STAFF,
            "requestBody": json_body(ref("NewComplaint"), {"summary": "工程师未按约定时间到场"}),
            "responses": {
                "201": json_response("The complaint", ref("Complaint")),
                **errors(400, 403, 404, 413),
            },
        },
    },
    "/api/v1/complaints/{complaint_no}/transitions": {
        "parameters": [COMPLAINT_NO],
        "post": {
            "tags": ["care"],
            "operationId": "moveComplaint",
            "summary": "received → investigating → remedied (told to the user) → confirmed; "
            "remedied → investigating when the user does not accept",
            "description": STAFF,
            "requestBody": json_body(ref("ComplaintMove"),
                                     {"to": "remedied", "remedy": "已更换工程师并上门致歉"}),
            "responses": {
                "200": json_response("The complaint", ref("Complaint")),
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
    "/api/v1/tasks": {
        "get": {
            "tags": ["care"],
            "operationId": "listTasks",
            "summary": "Calls to make: survey callbacks, follow-ups (回访), complaint "
            "confirmations; the most urgent first",
            "description": STAFF,
            "parameters": [
                query_param("status", enum(["open", "done", "all"]), "Default open"),
                query_param("kind", enum(TASK_KINDS), "Only this kind"),
                query_param("role", enum(["agent", "supervisor"]), "Only for this role"),
            ],
            "responses": {
                "200": json_response("The tasks", obj({"items": array(ref("Task"))}, ["items"])),
                **errors(400, 403),
            },
        }
    },
    "/api/v1/tasks/{task_id}/done": {
        "parameters": [path_param("task_id", "The task's id", "1")],
        "post": {
            "tags": ["care"],
            "operationId": "finishTask",
            "summary": "Mark a task done, with a note",
            "description": STAFF,
            "requestBody": json_body(obj({"note": string(maxLength=4000)}, closed=True),
                                     {"note": "已回访，用户表示满意"}, required=False),
            "responses": {
                "200": json_response("The task", ref("Task")),
                **errors(400, 403, 404, 413),
            },
        },
    },
    "/api/v1/tickets/{ticket_no}/survey": {
        "parameters": [TICKET_NO],
        "post": {
            "tags": ["care"],
            "operationId": "answerSurvey",
            "summary": "Record the survey answer a hotline user gave on the callback",
            "description": STAFF,
            "requestBody": json_body(ref("SurveyAnswer"), {"satisfaction": "satisfied"}),
            "responses": {
                "200": json_response("Recorded", obj({
                    "ticket_no": string(), "satisfaction": enum(SCALE),
                    "comment": nullable(string())}, ["ticket_no", "satisfaction"])),
                **errors(400, 403, 404, 409, 413),
            },
        },
    },
})

DOCUMENT: Schema = {
    "openapi": "3.0.3",
    "info": {
        "title": "xcdesk REST API",
        "version": _version(),
        "description": "Work orders (服务工单) by their field ids, the hotline, and primary "
        "responsibility between companies. Errors are JSON: "
        '`{"error": {"code": …, "message": …}}`.',
    },
    "tags": [
        {"name": "tickets", "description": "Work orders and their lifecycle"},
        {"name": "responsibility", "description": "Transfers of primary responsibility"},
        {"name": "hotline", "description": "Calls, callers, callbacks, figures"},
        {"name": "care", "description": "Complaint ledger, tasks for people, phone surveys"},
        {"name": "meta", "description": "Health and this document"},
    ],
    "security": [{"bearerAuth": []}],
    "paths": PATHS,
    "components": COMPONENTS,
}

routes = web.RouteTableDef()


@routes.get(OPENAPI_PATH)
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
