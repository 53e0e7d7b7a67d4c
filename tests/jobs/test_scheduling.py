"""Time in the outbox, with real workers: durable timers, periodic jobs scheduled by two relays at
once, and retries with backoff ending done, or failed and visible to the job's own tenant only.

One worker group (two processes, so two relays) serves the whole module; it also schedules the
test periodic job testjobs.tick every two seconds (croniter reads a sixth field as seconds).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from backend.jobs.outbox import cancel, enqueue, failed_jobs, retry
from backend.kit.pagination import PageRequest
from backend.models import JobStatus, OutboxJob
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.jobs.harness import (
    MAX_ATTEMPTS,
    RETRY_SECONDS,
    BrokerUnderTest,
    Effect,
    Row,
    WorkerGroup,
    Workers,
    db_now,
    effects,
    outbox_rows,
    wait_for,
    worker_env,
)

TICK = "testjobs.tick"
TICK_SECONDS = 2
# A timer fires at the relay's first sweep after run_at (one a second) plus a consume.
FIRES_WITHIN = 6.0


@pytest.fixture(scope="module")
async def steady(
    owner_url: str, broker: BrokerUnderTest, chaos_schema: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerGroup]:
    logs = tmp_path_factory.mktemp("steady-workers")
    workers = Workers(env=worker_env(owner_url, broker.url, logs), logs=logs)
    try:
        yield await workers.started(env={"CHAOS_PERIODIC": f"{TICK}|* * * * * */{TICK_SECONDS}"})
    finally:
        workers.kill_all()


async def _effect(owner: AsyncEngine, name: str, *, within: float) -> Effect:
    async def found() -> Effect | None:
        return next((effect for effect in await effects(owner) if effect.key == name), None)

    return await wait_for(f"the effect {name!r}", found, within=within)


async def test_a_timer_fires_after_run_at_and_a_cancelled_one_never(
    steady: WorkerGroup, publishing_db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    acme = TenantContext.system(demo.acme.id)
    async with publishing_db.transaction(acme) as session:
        run_at = await session.scalar(select(func.now() + timedelta(seconds=3)))  # the database's clock
        assert run_at is not None
        await enqueue(session, "testjobs.record", run_at=run_at, key="timer", effect="timer")
        await enqueue(session, "testjobs.record", run_at=run_at, key="cancelled-timer", effect="cancelled-timer")
    async with publishing_db.transaction(acme) as session:
        assert await cancel(session, "cancelled-timer")

    fired = await _effect(owner_engine, "timer", within=30)
    due = run_at.timestamp()
    assert fired.at >= due, f"fired {due - fired.at:.2f} s before run_at"
    assert fired.at - due < FIRES_WITHIN, f"fired {fired.at - due:.2f} s after run_at"

    # give the relay a few more sweeps past run_at: the cancelled timer still must not fire
    async def well_past() -> bool:
        return await db_now(owner_engine) > due + 3

    await wait_for("three more relay sweeps", well_past, within=30)
    rows = await outbox_rows(owner_engine)
    assert rows["cancelled-timer"].status == JobStatus.CANCELLED
    assert [effect.key for effect in await effects(owner_engine) if "timer" in effect.key] == ["timer"]
    async with publishing_db.transaction(acme) as session:
        assert not await cancel(session, "timer")  # ran already: nothing left to cancel
        assert not await cancel(session, "cancelled-timer")


async def test_two_relays_make_one_job_per_tenant_per_period(
    steady: WorkerGroup, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    assert len(steady.ready_pids()) == 2  # two worker processes, each with its relay
    start = await db_now(owner_engine)
    await asyncio.sleep(4 * TICK_SECONDS + 1)
    # periods that began in the window, with time for both relays to schedule them and a worker to
    # run them (earlier periods' rows were removed by the previous test's clean-up)
    last = await db_now(owner_engine) - 2
    expected = [float(second) for second in range(math.ceil(start), math.floor(last) + 1) if second % TICK_SECONDS == 0]
    assert len(expected) >= 3

    async with owner_engine.connect() as owner:
        tenants = set((await owner.execute(text("SELECT id FROM tenants WHERE status = 'active'"))).scalars())
    assert {demo.acme.id, demo.globex.id} <= tenants

    async def all_ran() -> dict[str, Row] | None:
        rows = {key: row for key, row in (await outbox_rows(owner_engine, TICK)).items() if row.run_at in expected}
        return rows if rows and all(row.status == JobStatus.DONE for row in rows.values()) else None

    rows = await wait_for("the periods' ticks to run", all_ran, within=30)
    per_period: dict[float, list[UUID]] = {}
    for row in rows.values():
        per_period.setdefault(row.run_at, []).append(row.tenant_id)
    assert sorted(per_period) == expected, "a period was missed"
    for period, period_tenants in per_period.items():
        assert sorted(period_tenants) == sorted(tenants), f"period {period}: one job per active tenant"
    made = [effect.outbox_id for effect in await effects(owner_engine) if effect.key.startswith(f"periodic:{TICK}:")]
    ran = {row.id for row in rows.values()}
    assert sorted(str(outbox_id) for outbox_id in made if outbox_id in ran) == sorted(map(str, ran))  # one each
    assert all(row.attempts == 1 for row in rows.values())


async def test_retries_back_off_then_end_done_or_failed_for_the_own_tenant_only(
    steady: WorkerGroup, publishing_db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    acme, globex = TenantContext.system(demo.acme.id), TenantContext.system(demo.globex.id)
    async with publishing_db.transaction(acme) as session:
        await enqueue(session, "testjobs.flaky", key="flaky", effect="flaky", failures=2)
        broken_id = await enqueue(session, "testjobs.broken", key="broken", effect="broken")

    async def settled() -> dict[str, Row] | None:
        rows = await outbox_rows(owner_engine)
        done = rows["flaky"].status == JobStatus.DONE and rows["broken"].status == JobStatus.FAILED
        return rows if done else None

    # backoffs of 1 and 2 s, each followed by the relay's next sweep
    rows = await wait_for("the flaky job to succeed and the broken one to fail", settled, within=60)
    flaky, broken = rows["flaky"], rows["broken"]
    assert (flaky.attempts, flaky.last_error) == (3, None)
    flaky_effects = [effect for effect in await effects(owner_engine) if effect.key.startswith("flaky")]
    # once, and nothing of the two failed attempts (their effects rolled back with them)
    assert [effect.key for effect in flaky_effects] == ["flaky"]
    assert flaky_effects[0].at - flaky.created_at >= RETRY_SECONDS * (1 + 2), "the backoff was skipped"
    async with owner_engine.connect() as owner:
        outcomes = list(
            (
                await owner.execute(
                    text(
                        "SELECT outcome FROM chaos.deliveries WHERE outbox_id = :id"
                        " AND outcome IN ('retry', 'done', 'failed') ORDER BY at"
                    ),
                    {"id": flaky.id},
                )
            ).scalars()
        )
    assert outcomes == ["retry", "retry", "done"]
    assert broken.attempts == MAX_ATTEMPTS
    assert broken.last_error == "PlannedFailure: broken is broken until fixed"

    # the failed job is its own tenant's business only
    async with publishing_db.transaction(acme) as session:
        page = await failed_jobs(session, PageRequest(size=100), actor="testjobs.broken")
        assert [job.id for job in page.items] == [broken_id]
        assert page.total == 1
    async with publishing_db.transaction(globex) as session:
        theirs = await failed_jobs(session, PageRequest(size=100))
        assert broken_id not in {job.id for job in theirs.items}
        assert (await failed_jobs(session, PageRequest(size=100), actor="testjobs.broken")).total == 0
        assert not await retry(session, broken_id)
    assert (await outbox_rows(owner_engine))["broken"].status == JobStatus.FAILED

    # an operator fixes the cause and retries: pending again with fresh attempts, then done
    async with owner_engine.begin() as owner:
        await owner.execute(text("INSERT INTO chaos.fixed (key) VALUES ('broken')"))
    async with publishing_db.transaction(acme) as session:
        assert await retry(session, broken_id)
        again = await session.scalar(select(OutboxJob).where(OutboxJob.id == broken_id))
        assert again is not None
        assert (again.status, again.attempts, again.published_at, again.done_at) == (JobStatus.PENDING, 0, None, None)
    await _effect(owner_engine, "broken", within=30)

    async def retried() -> Row | None:
        row = (await outbox_rows(owner_engine))["broken"]
        return row if row.status == JobStatus.DONE else None

    done = await wait_for("the retried job to be marked done", retried, within=10)
    assert (done.attempts, done.last_error) == (1, None)
