"""kill -9 chaos: a thousand jobs, worker processes killed again and again while they run them,
then left to finish. Not one effect may be lost, and not one may happen twice.

Jobs arrive in waves while two worker groups run side by side, so that work goes on while a
killed group's replacement boots. Every 1-2 s a wave is committed (published after commit) and a
ready group is killed: the whole group at once (a machine dying), or one worker process (dramatiq's
parent then stops its sibling gracefully and exits), in turn. Jobs hold their transaction for a
moment, so kills land inside transactions, between fetch and ack, and between commit and ack.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from backend.models import JobStatus
from tenants.isolation import Database
from tests.jobs.harness import (
    BrokerUnderTest,
    WorkerGroup,
    Workers,
    deliveries,
    done_twice,
    effects,
    enqueue_jobs,
    outbox_rows,
    wait_for,
)

JOBS_PER_TENANT = 500
WAVE = 30  # jobs per tenant per wave: the backlog stays short, so the kills always find work
PAUSE = 0.1  # seconds each job holds its transaction open
MIN_KILLS = 6
CHAOS_SECONDS = 60.0  # the kills stop after this even if fewer happened (a very slow machine)
FINISH_SECONDS = 150.0


@dataclass(frozen=True, slots=True)
class Kill:
    at: float
    how: str
    effects_before: int


async def test_kill_9_chaos_loses_nothing_and_duplicates_nothing(
    publishing_db: Database, owner_engine: AsyncEngine, demo: DemoData, workers: Workers, broker: BrokerUnderTest
) -> None:
    rng = random.Random(20261122)  # the kill schedule varies with timing anyway; the choices need not
    names = {t.id: [f"chaos-{t.slug}-{i:04d}" for i in range(JOBS_PER_TENANT)] for t in (demo.acme, demo.globex)}
    total = sum(len(tenant_names) for tenant_names in names.values())

    async def done_count() -> int:
        return len(await effects(owner_engine))

    start = time.monotonic()
    alive: list[WorkerGroup] = [workers.start(), workers.start()]
    kills: list[Kill] = []
    enqueued = 0
    while (enqueued < JOBS_PER_TENANT or len(kills) < MIN_KILLS) and time.monotonic() - start < CHAOS_SECONDS:
        if enqueued < JOBS_PER_TENANT:
            for tenant_id, tenant_names in names.items():
                await enqueue_jobs(publishing_db, tenant_id, tenant_names[enqueued : enqueued + WAVE], pause=PAUSE)
            enqueued += WAVE
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        ready = [group for group in alive if len(group.ready_pids()) >= group.processes]
        if not ready:
            continue  # both still booting: nothing is working that a kill could interrupt
        victim = ready[0]  # the longest-lived
        before = await done_count()
        if before >= total:
            break
        how = "one worker process" if len(kills) % 2 else "whole group"
        if how == "whole group":
            victim.kill()
        else:
            victim.kill_one_worker()  # its parent stops the other one and exits; reaped at the end
        kills.append(Kill(at=time.monotonic() - start, how=how, effects_before=before))
        alive.remove(victim)
        alive.append(workers.start())
    chaos_over = time.monotonic() - start
    assert enqueued >= JOBS_PER_TENANT, f"only {enqueued} jobs per tenant were enqueued in {chaos_over:.0f} s"

    async def finished() -> bool:
        return await done_count() >= total

    await wait_for(f"all {total} effects", finished, within=FINISH_SECONDS, interval=0.5)
    done_after = time.monotonic() - start

    # Every job has its effect, so none can add another (the primary key); let the redeliveries
    # still queued be handled, so that they are counted, then stop.
    async def drained() -> bool:
        return broker.queued() == 0

    await wait_for("the queue to drain", drained, within=60, interval=0.5)
    await asyncio.sleep(0.5)  # the last fetched messages
    workers.kill_all()

    rows = await outbox_rows(owner_engine)
    found = await effects(owner_engine)
    keys = [effect.key for effect in found]
    expected = {name for tenant_names in names.values() for name in tenant_names}
    lost = expected - set(keys)
    duplicated = await done_twice(owner_engine)
    outcomes = await deliveries(owner_engine)
    stranded = broker.in_flight()
    print(
        f"\nchaos: {total} jobs, {len(kills)} kills in {chaos_over:.1f} s, all done after {done_after:.1f} s"
        f" ({', '.join(f'{k.how} at {k.at:.1f}s/{k.effects_before} done' for k in kills)});"
        f"\n  lost {len(lost)}, ran twice {len(duplicated)};"
        f" deliveries recorded: {outcomes.get('done', 0)} done, {outcomes.get('skipped', 0)} redeliveries"
        f" that found their job done already, other outcomes {sorted(set(outcomes) - {'done', 'skipped'})};"
        f"\n  {stranded} messages still held by dead workers (delivered by the relay's republish instead)"
    )
    assert len(kills) >= MIN_KILLS // 2, f"only {len(kills)} kills happened: the chaos did not happen"
    assert sum(kill.effects_before < total for kill in kills) >= MIN_KILLS // 2, "the kills missed the work"
    assert not lost
    assert duplicated == []
    assert set(keys) == expected
    by_key = {effect.key: effect for effect in found}
    wrong = [
        row
        for key, row in rows.items()
        if (row.status, row.attempts, row.last_error) != (JobStatus.DONE, 1, None)
        or (by_key[key].outbox_id, by_key[key].tenant_id) != (row.id, row.tenant_id)
    ]
    # attempts stay 1: a killed attempt is rolled back with its effect, and a second delivery
    # never gets as far as running the job (it would have failed on the effect's primary key)
    assert not wrong, wrong[:5]
    # a worker killed between a job's commit and its delivery record loses the record only
    assert outcomes.get("done", 0) <= total
