"""API tokens: roles agent, vendor (bound to one vendor) and supervisor."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.directory import vendor_named
from ticketing.orm import ApiToken
from ticketing.workflow import Actor

ROLES = ("agent", "vendor", "supervisor")


class TokenError(Exception):
    """A token cannot be made as asked; the message is for the operator."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    session: AsyncSession,
    role: str,
    now: datetime,
    *,
    vendor: str | None = None,
    label: str | None = None,
) -> str:
    """A new random token; only its digest is stored, so it is shown once."""
    if role not in ROLES:
        raise TokenError(f"未知角色 {role}，应为 agent / vendor / supervisor | unknown role {role}")
    vendor_id = None
    if role == "vendor":
        if not vendor:
            raise TokenError("vendor 角色必须指定 --vendor | role vendor needs --vendor")
        found = await vendor_named(session, vendor)
        if found is None:
            raise TokenError(f"未登记的企业：{vendor} | unknown vendor: {vendor}")
        vendor_id = found.id
    elif vendor:
        raise TokenError("只有 vendor 角色绑定企业 | only role vendor takes --vendor")
    token = "xc_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_sha256=_digest(token),
            role=role,
            vendor_id=vendor_id,
            label=label,
            created_at=now,
        )
    )
    await session.flush()
    return token


async def authenticate(session: AsyncSession, token: str) -> Actor | None:
    row = await session.scalar(
        select(ApiToken).where(
            ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    name = f"{row.role}:{row.vendor.name}" if row.vendor else f"{row.role}:{row.label or row.id}"
    return Actor(name=name, role=row.role, vendor_id=row.vendor_id)
