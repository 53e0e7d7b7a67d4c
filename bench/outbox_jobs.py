"""The job the outbox bench runs, and the entry of its worker processes.

`bench.mark` writes when it started into bench.job_starts, a table of the bench's own schema;
the lag of a job is that time minus its outbox row's created_at (both the database's clock),
matched by a token the job carries.
Workers start as `dramatiq bench.outbox_jobs:setup`, which declares this job too.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs import runtime
from backend.jobs.registry import job

MARK = "bench.mark"


@job(MARK)
async def mark(session: AsyncSession, token: str) -> None:
    # no unique key on purpose: a job that ran twice would show up as two rows
    await session.execute(
        text("INSERT INTO bench.job_starts (token, started_at) VALUES (CAST(:token AS uuid), clock_timestamp())"),
        {"token": token},
    )


def setup() -> None:
    runtime.setup()
