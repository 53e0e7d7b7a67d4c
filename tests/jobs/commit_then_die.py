"""A process that commits outbox jobs and is killed (SIGKILL, by itself) right after the commit,
before it publishes a single message: `python -m tests.jobs.commit_then_die <tenant id> <key>...`.

Its Database has a publisher, so enqueue stamps the rows published_at ("the committer publishes
these") and the relay leaves them alone for MERKATO_JOB_REPUBLISH_SECONDS: the test proves they
are delivered all the same, once. DATABASE_URL is the owner URL, as for the workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any
from uuid import UUID

import tests.jobs.effects  # noqa: F401  # registers testjobs.record
from backend.jobs.outbox import enqueue
from tenants.context import TenantContext
from tenants.isolation import Database


async def die(dispatches: list[Any]) -> None:
    """The publisher, called right after the commit: the process dies here."""
    os.kill(os.getpid(), signal.SIGKILL)


async def main(tenant_id: UUID, keys: list[str]) -> None:
    db = Database.connect(os.environ["DATABASE_URL"], pool_size=1, publish=die)
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        for key in keys:
            await enqueue(session, "testjobs.record", key=key, effect=key)
    raise AssertionError("the publisher did not kill the process")


if __name__ == "__main__":
    asyncio.run(main(UUID(sys.argv[1]), sys.argv[2:]))
