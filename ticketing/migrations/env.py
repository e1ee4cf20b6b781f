"""Alembic environment: runs on a connection handed over by `ticketing.migrate`."""

from __future__ import annotations

from alembic import context

from ticketing.orm import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `xcdesk migrate` (ticketing.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
