"""Tasks for people (回访/回拨): calls a machine cannot make. Opened by surveys (a hotline user's
survey is a callback), dissatisfied answers (a supervisor's follow-up) and complaints; listed in
the console and the API; done with a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ticketing import audit
from ticketing.orm import Task, WorkOrder

KINDS = ("survey_call", "follow_up", "complaint_call")
_TASKS = Task.__table__
_WO = WorkOrder.__table__
# when each kind should be done: a survey callback within a working day, a follow-up sooner
DUE_IN = {"survey_call": timedelta(days=1), "follow_up": timedelta(hours=4),
          "complaint_call": timedelta(hours=4)}


@dataclass(frozen=True)
class TaskView:
    id: int
    kind: str
    role: str
    ticket_no: str
    title: str
    phone: str | None
    status: str
    created_at: datetime
    due_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str | None
    complaint_id: int | None
    ticket_id: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "role": self.role, "ticket_no": self.ticket_no,
            "title": self.title, "phone": self.phone, "status": self.status,
            "created_at": self.created_at.isoformat(), "due_at": self.due_at.isoformat(),
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "done_by": self.done_by, "note": self.note, "complaint_id": self.complaint_id,
        }


class TaskNotFound(Exception):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"no open task {task_id}")
        self.task_id = task_id


def open_task(
    conn: Connection, kind: str, role: str, ticket_id: int, title: str, now: datetime, *,
    phone: str | None = None, complaint_id: int | None = None,
) -> int:
    """Open a task unless the same kind is already open for the ticket; returns its id."""
    existing = conn.execute(
        select(_TASKS.c.id).where(_TASKS.c.work_order_id == ticket_id, _TASKS.c.kind == kind,
                                  _TASKS.c.status == "open")
    ).scalar()
    if existing is not None:
        return int(existing)
    task_id = conn.execute(_TASKS.insert().values(
        kind=kind, role=role, work_order_id=ticket_id, complaint_id=complaint_id,
        status="open", title=title[:300], phone=phone, created_at=now, due_at=now + DUE_IN[kind],
    ).returning(_TASKS.c.id)).scalar_one()
    audit.record_sync(conn, at=now, actor="system", action="task_opened",
                      work_order_id=ticket_id, data={"task": task_id, "kind": kind})
    return int(task_id)


def close_tasks(
    conn: Connection, ticket_id: int, kind: str, actor: str, note: str | None, now: datetime
) -> int:
    """Mark the ticket's open tasks of `kind` done (the work was done another way)."""
    return conn.execute(
        update(_TASKS).where(_TASKS.c.work_order_id == ticket_id, _TASKS.c.kind == kind,
                             _TASKS.c.status == "open")
        .values(status="done", done_at=now, done_by=actor, note=note)
    ).rowcount


def complete(conn: Connection, task_id: int, actor: str, note: str | None,
             now: datetime) -> TaskView:
    """Mark an open task done with the person's note; TaskNotFound when it is not open."""
    done = conn.execute(
        update(_TASKS).where(_TASKS.c.id == task_id, _TASKS.c.status == "open")
        .values(status="done", done_at=now, done_by=actor, note=note)
    ).rowcount
    if not done:
        raise TaskNotFound(task_id)
    (view,) = _views(conn, _TASKS.c.id == task_id)
    audit.record_sync(conn, at=now, actor=actor, action="task_done", work_order_id=view.ticket_id,
                      data={"task": task_id, "kind": view.kind, "note": note})
    return view


def listing(conn: Connection, *, status: str | None = "open", kind: str | None = None,
            role: str | None = None) -> list[TaskView]:
    """Tasks, the most urgent first."""
    where = []
    if status:
        where.append(_TASKS.c.status == status)
    if kind:
        where.append(_TASKS.c.kind == kind)
    if role:
        where.append(_TASKS.c.role == role)
    return _views(conn, *where)


def _views(conn: Connection, *where: Any) -> list[TaskView]:
    rows = conn.execute(
        select(_TASKS, _WO.c.ticket_no).join(_WO, _WO.c.id == _TASKS.c.work_order_id)
        .where(*where).order_by(_TASKS.c.due_at, _TASKS.c.id)
    ).all()
    return [
        TaskView(r.id, r.kind, r.role, r.ticket_no, r.title, r.phone, r.status, r.created_at,
                 r.due_at, r.done_at, r.done_by, r.note, r.complaint_id, r.work_order_id)
        for r in rows
    ]
