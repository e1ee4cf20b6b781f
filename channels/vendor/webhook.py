"""Pushing a ticket to a vendor's webhook: JSON with the work order's field ids, signed.

The body is signed with HMAC-SHA256 under the vendor's own secret; the receiver recomputes
`X-Xcdesk-Signature: sha256=<hex>` over the exact bytes it received. `X-Xcdesk-Idempotency-Key`
is the same on every retry of one notice, so a receiver that saw it already can answer 200 and
do nothing. A secondary company's copy shows the contact phone masked, as the API does.

2xx is delivered. 408, 429, 5xx and network errors are retried by the dispatcher (exponential
backoff, for up to 24 hours: `VENDOR_RETRY`); any other answer is permanent and the notice goes
to the dead letters, visible on the ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import aiohttp
from sqlalchemy import select

from ticketing import queries
from ticketing.desk import Desk
from ticketing.dispatch import DeliveryFailed, OutboxItem, RetryPolicy
from ticketing.orm import Vendor, WorkOrder
from ticketing.workflow import Actor

# 30 s, 1 min, 2 min … 1 h, then hourly: the 30th attempt comes about 24 hours after the first
VENDOR_RETRY = RetryPolicy(base=timedelta(seconds=30), ceiling=timedelta(hours=1),
                           max_attempts=30)
_RETRYABLE = frozenset({408, 425, 429})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class VendorWebhookSender:
    def __init__(self, desk: Desk, timeout: float = 10.0) -> None:
        self._desk = desk
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def deliver(self, item: OutboxItem) -> None:
        vendor, body = await self._prepare(item)
        if not vendor.webhook_url:
            raise DeliveryFailed("企业未登记 webhook | vendor has no webhook", permanent=True)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Xcdesk-Signature": signature(vendor.webhook_secret or "", body),
            "X-Xcdesk-Idempotency-Key": item.dedupe_key,
            "X-Xcdesk-Event": str(item.payload.get("reason", "new")),
        }
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as http, http.post(
                vendor.webhook_url, data=body, headers=headers
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"企业接口不可达 | webhook unreachable: {exc!r}") from exc
        if 200 <= status < 300:
            return
        raise DeliveryFailed(
            f"企业接口返回 {status} | webhook answered {status}",
            permanent=not (status in _RETRYABLE or status >= 500),
        )

    async def _prepare(self, item: OutboxItem) -> tuple[Vendor, bytes]:
        async with self._desk.sessions() as session:
            vendor = await session.get(Vendor, int(item.recipient))
            order = await session.scalar(
                select(WorkOrder).where(WorkOrder.ticket_no == item.payload["ticket_no"])
            )
            if vendor is None or order is None:
                raise DeliveryFailed("企业或工单已不存在 | vendor or ticket gone", permanent=True)
            # the copy a company may see: a secondary company gets the phone masked
            view = queries.ticket_view(order, Actor(vendor.name, "vendor", vendor.id))
        body = {
            "event": item.payload.get("reason", "new"),
            "role": item.payload.get("role"),
            "idempotency_key": item.dedupe_key,
            "ticket": view,
        }
        return vendor, json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
