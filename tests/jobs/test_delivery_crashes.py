"""A crash at each step of a job's way from commit to effect, with real worker processes, a real
broker and PostgreSQL: between the commit and the publish, between the publish and the consume,
and inside the consumer's transaction. Each time every effect happens, and happens once.

Each test runs on both brokers BROKER_URL may name: Redis, and RabbitMQ through dramatiq's
RabbitmqBroker (skipped where no AMQP server answers).
"""

from __future__ import annotations

import signal
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from backend.models import JobStatus
from tenants.isolation import Database
from tests.jobs.harness import (
    REPUBLISH_SECONDS,
    BrokerUnderTest,
    Effect,
    Row,
    Workers,
    commit_then_die,
    deliveries,
    effects,
    enqueue_jobs,
    is_locked,
    outbox_rows,
    wait_for,
)

# PostgreSQL's clock stamps both published_at and the effects; this only absorbs rounding.
CLOCK_SLACK = 0.05

pytestmark = pytest.mark.brokers("redis", "rabbitmq")


async def all_effects(owner: AsyncEngine, expected: int, *, within: float) -> list[Effect]:
    async def done() -> list[Effect] | None:
        found = await effects(owner)
        return found if len(found) >= expected else None

    return await wait_for(f"{expected} effects", done, within=within)


def assert_exactly_once(rows: dict[str, Row], found: list[Effect]) -> None:
    """Every job done in one attempt, with exactly one effect, made by that job's own run."""
    by_key = {effect.key: effect for effect in found}
    assert len(by_key) == len(found)  # the primary key already forbids it; a broken schema would not
    assert set(by_key) == set(rows), f"lost: {set(rows) - set(by_key)}, unexpected: {set(by_key) - set(rows)}"
    for key, row in rows.items():
        assert (row.status, row.attempts, row.last_error) == (JobStatus.DONE, 1, None), row
        assert (by_key[key].outbox_id, by_key[key].tenant_id) == (row.id, row.tenant_id), (row, by_key[key])


async def test_jobs_committed_but_never_published_are_delivered_once(
    db: Database, owner_engine: AsyncEngine, demo: DemoData, workers: Workers, broker: BrokerUnderTest
) -> None:
    tenants = (demo.acme, demo.globex)
    # Committed where there is no publisher at all: these rows say so (published_at is null) ...
    unpublished = {t.id: [f"unpublished-{t.slug}-{i}" for i in range(10)] for t in tenants}
    for tenant_id, names in unpublished.items():
        await enqueue_jobs(db, tenant_id, names)
    # ... and by processes killed right after their commit, whose rows claim a publish that never came.
    orphaned = {t.id: [f"orphaned-{t.slug}-{i}" for i in range(10)] for t in tenants}
    committers = [commit_then_die(workers.env, tenant_id, names) for tenant_id, names in orphaned.items()]
    for committer in committers:
        output, _ = committer.communicate(timeout=120)
        assert committer.returncode == -signal.SIGKILL, output.decode(errors="replace")

    before = await outbox_rows(owner_engine)
    assert len(before) == 40
    assert all(row.status == JobStatus.PENDING for row in before.values())
    assert all(before[name].published_at is None for names in unpublished.values() for name in names)
    assert all(before[name].published_at is not None for names in orphaned.values() for name in names)
    assert broker.queued() == 0, "nothing may have reached the broker"
    assert not broker.in_flight()

    await workers.started()
    found = await all_effects(owner_engine, 40, within=90)
    after = await outbox_rows(owner_engine)
    assert_exactly_once(after, found)
    at = {effect.key: effect.at for effect in found}
    for names in orphaned.values():
        for name in names:
            # the relay trusted the dead committer for the republish timeout, and not a moment longer
            published_at = before[name].published_at
            assert published_at is not None
            assert at[name] >= published_at + REPUBLISH_SECONDS - CLOCK_SLACK, (name, at[name] - published_at)


async def test_messages_lost_with_a_killed_worker_are_delivered_once(
    publishing_db: Database, owner_engine: AsyncEngine, demo: DemoData, workers: Workers, broker: BrokerUnderTest
) -> None:
    names = {t.id: [f"in-flight-{t.slug}-{i}" for i in range(20)] for t in (demo.acme, demo.globex)}
    for tenant_id, tenant_names in names.items():
        # pause: each job holds its transaction a while, so the kill finds jobs running and fetched
        await enqueue_jobs(publishing_db, tenant_id, tenant_names, pause=0.3)

    async def published() -> bool:
        return broker.queued() == 40  # published at commit, by the committer itself

    await wait_for("the 40 messages in the queue", published, within=10)

    group = await workers.started()

    async def first_effect() -> bool:
        return bool(await effects(owner_engine))

    await wait_for("the first effect", first_effect, within=60, interval=0.05)
    group.kill()
    held = broker.in_flight()  # fetched by the dead workers, never to be acked by them
    done_before = len(await effects(owner_engine))
    assert done_before < 40, "the workers finished before the kill: nothing was in flight"
    # (RabbitMQ does not count them: there the messages went back to the queue with the connection)
    assert held is None or held > 0, "the dead workers held no messages: the kill came too late or too early"

    await workers.started()
    found = await all_effects(owner_engine, 40, within=90)
    assert_exactly_once(await outbox_rows(owner_engine), found)
    outcomes = await deliveries(owner_engine)
    print(
        f"\nin flight at the kill: {held} messages held by dead workers, {done_before}/40 effects done;"
        f" deliveries recorded afterwards: {outcomes}"
    )


async def test_a_worker_killed_inside_the_jobs_transaction(
    publishing_db: Database,
    owner_engine: AsyncEngine,
    demo: DemoData,
    workers: Workers,
    broker: BrokerUnderTest,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "starts"
    group = await workers.started()
    ids = await enqueue_jobs(
        publishing_db, demo.acme.id, ["slow"], actor="testjobs.slow", marker=str(marker), seconds=60
    )
    outbox_id: UUID = ids["slow"]

    async def started() -> bool:
        return marker.exists() and bool(marker.read_text().strip())

    await wait_for("the job to start", started, within=60, interval=0.05)
    # it wrote its effect and now sleeps in its transaction, holding the row's lock
    assert await is_locked(owner_engine, outbox_id)
    group.kill()

    async def released() -> bool:
        return not await is_locked(owner_engine, outbox_id)

    await wait_for("PostgreSQL to end the dead worker's transaction", released, within=30)
    # rolled back: no effect, and not even the attempt was counted
    assert await effects(owner_engine) == []
    killed = (await outbox_rows(owner_engine))["slow"]
    assert (killed.status, killed.attempts) == (JobStatus.PENDING, 0)

    await workers.started()
    found = await all_effects(owner_engine, 1, within=60)
    assert_exactly_once(await outbox_rows(owner_engine), found)
    starts = marker.read_text().split()
    assert len(starts) == 2, starts  # the killed run and the one that finished
    assert killed.published_at is not None
    if not broker.requeues_at_once:
        # the dramatiq message died with the worker: the relay republished the row after the timeout
        assert found[0].at >= killed.published_at + REPUBLISH_SECONDS - CLOCK_SLACK
