"""Composition root: turns settings into the engine, the ticketing desk and the web app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from classifier.regions import Regions
from classifier.rules import RuleClassifier
from classifier.triage import Triager
from server.settings import Settings
from ticketing.db import Database, session_factory
from ticketing.desk import ComplaintPolicy, Desk
from ticketing.migrate import upgrade
from ticketing.sla import SlaPolicy
from ticketing.vocabulary import Templates, Vocabulary


class DatabaseUnavailable(Exception):
    """The database cannot be reached; str(self) is the one line to show the operator."""


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    database: Database
    desk: Desk

    async def close(self) -> None:
        await self.database.dispose()


def build_classifier(settings: Settings) -> Triager:
    config = settings.config_dir
    if settings.classifier.kind == "rules":
        return RuleClassifier.from_config(config)
    from classifier.pipeline import Classifier  # spaCy: imported only when the model is used

    model_dir = Path(settings.classifier.model_dir) if settings.classifier.model_dir else None
    return Classifier.load(model_dir, config, settings.ticketing.review_threshold)


def build_desk(
    settings: Settings, database: Database, classifier: Triager | None = None
) -> Desk:
    config = settings.config_dir
    vocabulary = Vocabulary.load(config / "vocabulary.toml")
    regions = Regions.load(config / "regions.toml")
    return Desk(
        sessions=session_factory(database.engine),
        writer=database.writer,
        classifier=classifier or build_classifier(settings),
        regions=regions,
        vocabulary=vocabulary,
        templates=Templates(config / "templates" / "zh-CN", vocabulary, settings.zone),
        sla=SlaPolicy(**settings.sla.model_dump()),
        prefix=settings.ticketing.prefix,
        zone=settings.zone,
        review_threshold=settings.ticketing.review_threshold,
        supervisor_email=settings.ticketing.supervisor_email or None,
        public_url=settings.http.public_url.rstrip("/"),
        complaints=ComplaintPolicy(
            owner=settings.complaints.owner,
            investigate_within=timedelta(hours=settings.complaints.investigate_hours),
            remedy_within=timedelta(hours=settings.complaints.remedy_hours),
        ),
        sms_enabled=bool(settings.sms.provider),
    )


async def open_runtime(settings: Settings, *, migrate: bool = False) -> Runtime:
    database = Database.open(
        settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size
    )
    try:
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as exc:  # refused, unknown database, bad password, …
        await database.dispose()
        raise DatabaseUnavailable(
            f"无法连接数据库（XCDESK_DATABASE_URL）：{exc.__class__.__name__} | "
            f"cannot connect to the database (XCDESK_DATABASE_URL): {exc}"
        ) from exc
    if migrate:
        await upgrade(database.engine)
    return Runtime(settings=settings, database=database, desk=build_desk(settings, database))
