"""Run as a separate process by test_numbering: create tickets through intake.receive.

Usage: python -m tests.ticketing.concurrent_creator DB_URL COUNT TAG START_AT
Waits until the wall-clock time START_AT (epoch seconds) so both processes start together, then
prints one ticket number per line.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

from server.runtime import build_desk
from server.settings import load_settings
from ticketing import intake
from ticketing.db import Database
from ticketing.model import Inbound, Sender


async def main(url: str, count: int, tag: str, start_at: float) -> None:
    database = Database.open(url)
    desk = build_desk(load_settings(), database)
    time.sleep(max(0.0, start_at - time.time()))
    numbers = []
    for i in range(count):
        result = await intake.receive(
            desk,
            Inbound(
                channel_detail="wechat",
                external_id=f"{tag}-{i}",
                received_at=datetime.now(UTC),
                text=f"电脑蓝屏 {tag} {i}",
                sender=Sender(wechat_openid=f"o{tag}{i}"),
            ),
        )
        numbers.append(result.ticket_no)
    await database.dispose()
    print("\n".join(numbers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])))
