"""The outbox without workers: idempotency keys, and what the consumer does with a message that
arrives before its job is due (a stale or repeated delivery, which any broker may make)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from backend.jobs.consumer import RetryPolicy, run_job
from backend.jobs.outbox import cancel, enqueue, failed_jobs, retry
from backend.kit.db import RELAY_ROLE, make_engine
from backend.kit.pagination import PageRequest
from backend.models import JobStatus
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.jobs.harness import BrokerUnderTest, effects, outbox_rows


async def test_the_same_key_twice_is_one_job(
    publishing_db: Database, owner_engine: AsyncEngine, demo: DemoData, broker: BrokerUnderTest
) -> None:
    acme, globex = TenantContext.system(demo.acme.id), TenantContext.system(demo.globex.id)
    async with publishing_db.transaction(acme) as session:
        first = await enqueue(session, "testjobs.record", key="once", effect="first")
        # in the same transaction ...
        again = await enqueue(session, "testjobs.record", key="once", effect="second")
    # ... and in a later one
    async with publishing_db.transaction(acme) as session:
        later = await enqueue(session, "testjobs.record", key="once", effect="third")
    # keys are per tenant: the other tenant's "once" is its own job
    async with publishing_db.transaction(globex) as session:
        theirs = await enqueue(session, "testjobs.record", key="once", effect="globex")

    assert first == again == later
    assert theirs != first
    async with owner_engine.connect() as owner:
        rows = (await owner.execute(text("SELECT tenant_id, id, args FROM outbox WHERE key = 'once'"))).all()
    assert sorted((tenant, row_id, args["effect"]) for tenant, row_id, args in rows) == sorted(
        [(demo.acme.id, first, "first"), (demo.globex.id, theirs, "globex")]
    )
    # and one message per job, not one per call
    assert broker.queued() == 2


POLICY = RetryPolicy(max_attempts=5, base_seconds=60)


async def _enqueue(db: Database, tenant_id: UUID, actor: str, name: str, run_at: datetime | None = None) -> UUID:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        return await enqueue(session, actor, run_at=run_at, key=name, effect=name)


async def test_a_timer_delivered_before_it_is_due_waits(
    db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    """A message for a job that is not due (a timer moved later, a stale copy) must not run it."""
    job_id = await _enqueue(db, demo.acme.id, "testjobs.record", "not-yet", datetime.now(UTC) + timedelta(hours=1))
    await run_job(db, POLICY, "testjobs.record", demo.acme.id, job_id)
    assert await effects(owner_engine) == []
    row = (await outbox_rows(owner_engine))["not-yet"]
    assert (row.status, row.attempts) == (JobStatus.PENDING, 0)


async def test_a_repeated_delivery_does_not_cut_the_retry_backoff_short(
    db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    job_id = await _enqueue(db, demo.acme.id, "testjobs.broken", "backoff")
    assert await run_job(db, POLICY, "testjobs.broken", demo.acme.id, job_id) == "retry"
    failed_once = (await outbox_rows(owner_engine))["backoff"]
    assert failed_once.attempts == 1
    assert failed_once.run_at > failed_once.created_at + 59  # due again in a minute
    # The same message again at once: a relay's republish or the broker's requeue of a dead
    # worker's messages. Running it now would spend the attempts without any backoff.
    await run_job(db, POLICY, "testjobs.broken", demo.acme.id, job_id)
    assert (await outbox_rows(owner_engine))["backoff"] == failed_once


async def test_the_outbox_functions_keep_to_the_tenant_without_rls(
    owner_url: str, db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    """Through the relay role RLS lets every tenant's jobs through: the functions' own tenant
    filter is then the only wall, and it must hold (DESIGN.md §2: RLS is the second wall)."""
    later = datetime.now(UTC) + timedelta(hours=1)
    acme_job = await _enqueue(db, demo.acme.id, "testjobs.record", "shared-key", later)
    globex_job = await _enqueue(db, demo.globex.id, "testjobs.record", "shared-key", later)
    async with db.transaction(TenantContext.system(demo.globex.id)) as session:
        await session.execute(text("UPDATE outbox SET status = 'failed' WHERE id = :id"), {"id": globex_job})

    everywhere = Database(make_engine(owner_url, role=RELAY_ROLE, pool_size=1))
    try:
        async with everywhere.transaction(TenantContext.system(demo.acme.id)) as session:
            assert await session.scalar(text("SELECT count(*) FROM outbox WHERE key = 'shared-key'")) == 2
            assert await enqueue(session, "testjobs.record", key="shared-key", effect="again") == acme_job
            assert (await failed_jobs(session, PageRequest(size=100))).items == []
            assert not await retry(session, globex_job)
            assert await cancel(session, "shared-key")
    finally:
        await everywhere.dispose()
    async with owner_engine.connect() as owner:
        result = await owner.execute(text("SELECT id, status FROM outbox WHERE key = 'shared-key'"))
        statuses: dict[UUID, str] = dict(result.tuples().all())
    assert statuses == {acme_job: JobStatus.CANCELLED, globex_job: JobStatus.FAILED}
