"""Test jobs whose effects can be counted: each writes one row into chaos.effects, whose primary key
is the job's own key, so an effect that happened twice could not have committed twice, and a
missing row is a lost job.

The tables live in their own schema, made by the tests as the owner (not by a migration): the
catalog lints inspect `public` and stay blind to them, and merkato_app gets exactly INSERT and
SELECT on them. chaos.deliveries is written by the recording runtime of tests/jobs/worker_entry.py:
one row per delivery a worker finished handling, with what run_job made of it.
"""

from __future__ import annotations

import asyncio
import os
from contextvars import ContextVar
from pathlib import Path
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.jobs.registry import job
from backend.kit.db import APP_ROLE
from tenants.isolation import context_of

SCHEMA = "chaos"

CREATE = (
    f"CREATE SCHEMA {SCHEMA}",
    f"""CREATE TABLE {SCHEMA}.effects (
        key text PRIMARY KEY,
        tenant_id uuid NOT NULL,
        outbox_id uuid UNIQUE,
        worker_pid integer NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
    f"""CREATE TABLE {SCHEMA}.deliveries (
        outbox_id uuid NOT NULL,
        actor text NOT NULL,
        outcome text NOT NULL,
        worker_pid integer NOT NULL,
        at timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
    # keys whose testjobs.broken job has been "fixed": the operator's repair before a retry
    f"CREATE TABLE {SCHEMA}.fixed (key text PRIMARY KEY)",
    f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APP_ROLE}",
    f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA {SCHEMA} TO {APP_ROLE}",
)
DROP = f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"
# DELETE, not TRUNCATE: workers may be running, and TRUNCATE's exclusive lock on a table they are
# about to insert into, taken while waiting for their outbox row, is a deadlock.
CLEAR = tuple(f"DELETE FROM {SCHEMA}.{table}" for table in ("effects", "deliveries", "fixed"))

# The outbox row being run, set by the recording runtime around run_job: periodic jobs get no
# arguments, so this is how testjobs.tick knows which period it is the run of.
CURRENT_OUTBOX: ContextVar[UUID | None] = ContextVar("current_outbox", default=None)


class PlannedFailure(RuntimeError):
    """Raised by the test jobs that are meant to fail."""


async def _effect(session: AsyncSession, effect: str) -> None:
    await session.execute(
        text(
            f"INSERT INTO {SCHEMA}.effects (key, tenant_id, outbox_id, worker_pid)"
            " VALUES (:key, :tenant, :outbox, :pid)"
        ),
        {"key": effect, "tenant": context_of(session).tenant_id, "outbox": CURRENT_OUTBOX.get(), "pid": os.getpid()},
    )


def _running() -> UUID:
    outbox_id = CURRENT_OUTBOX.get()
    assert outbox_id is not None, "this test job runs only under the recording runtime"
    return outbox_id


async def _attempt(session: AsyncSession) -> int:
    """This run's attempt number: the consumer counted it (and flushed, opening the savepoint)
    before calling the job."""
    attempts = await session.scalar(text("SELECT attempts FROM outbox WHERE id = :id"), {"id": _running()})
    return int(attempts)


# Jobs' arguments are named `effect`, not `key`: enqueue's own `key` (the idempotency key) would
# swallow an argument of that name.


@job("testjobs.record")
async def record(session: AsyncSession, effect: str, pause: float = 0.0) -> None:
    await _effect(session, effect)
    if pause:
        # keeps the transaction open like a job doing real work, so kills land inside transactions
        await asyncio.sleep(pause)


def _note_start(marker: str) -> int:
    path = Path(marker)
    earlier = len(path.read_text().splitlines()) if path.exists() else 0
    with path.open("a") as file:
        file.write(f"{os.getpid()}\n")
    return earlier


@job("testjobs.slow")
async def slow(session: AsyncSession, effect: str, marker: str, seconds: float) -> None:
    """Writes its effect, then (on its first start only) sleeps inside the transaction: the test
    kills the worker while it sleeps. Each start appends the worker's pid to `marker`."""
    earlier_starts = await asyncio.to_thread(_note_start, marker)
    await _effect(session, effect)
    if not earlier_starts:
        await asyncio.sleep(seconds)


@job("testjobs.flaky")
async def flaky(session: AsyncSession, effect: str, failures: int) -> None:
    """Fails its first `failures` attempts, then succeeds."""
    attempt = await _attempt(session)
    if attempt <= failures:
        # the effect of a failed attempt must vanish with it (rolled back to the savepoint)
        await _effect(session, f"{effect}:attempt-{attempt}")
        raise PlannedFailure(f"planned failure {attempt} of {failures}")
    await _effect(session, effect)


@job("testjobs.broken")
async def broken(session: AsyncSession, effect: str) -> None:
    """Fails until `effect` is in chaos.fixed."""
    if not await session.scalar(text(f"SELECT EXISTS (SELECT FROM {SCHEMA}.fixed WHERE key = :key)"), {"key": effect}):
        raise PlannedFailure(f"{effect} is broken until fixed")
    await _effect(session, effect)


@job("testjobs.tick")
async def tick(session: AsyncSession) -> None:
    """A periodic job: one effect per run, keyed by the run's outbox key (which names the period)."""
    key = await session.scalar(text("SELECT key FROM outbox WHERE id = :id"), {"id": _running()})
    await _effect(session, f"{key}@{context_of(session).tenant_id}")
