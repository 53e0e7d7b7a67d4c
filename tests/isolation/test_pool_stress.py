"""Pool stress: many short transactions for random tenants and parties on a few pooled connections.

The tenant context lives in the connection (set_config) while the connection is shared by every
tenant in turn. If a context ever survived its transaction (a session-level SET, a failure path
that skipped the reset, a cancelled task returning a half-used connection), some transaction here
would read another tenant's rows, or rows without any context. Failures are injected on purpose:
exceptions inside the block, broken SQL, and tasks cancelled at random points. Transactions go
through both ways the app opens one: Database.transaction (the ORM session) and Database.read
(the bare asyncpg connection of the hottest reads), mixed on the same pool.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from tenants.context import NO_CONTEXT, PartyKind, TenantContext
from tenants.isolation import Database

TRANSACTIONS = 10_000
CONCURRENCY = 20
POOL_SIZE = 3
FAILURE_RATE = 0.10


class InjectedError(Exception):
    """A bug in a request handler, raised inside the transaction block."""


PATHS = ("transaction", "read")


@dataclass(frozen=True, slots=True)
class Plan:
    context: TenantContext
    path: str  # one of PATHS
    failure: str | None  # None, "python", "sql", "cancel"
    fail_after: int  # how many of the two reads run before a python/sql failure (0..2)


@dataclass
class Tally:
    started: int = 0
    committed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    failed_by_path: Counter[tuple[str, str]] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    contexts: Counter[str] = field(default_factory=Counter)
    rows_checked: int = 0
    wrong_tenant: int = 0
    wrong_party: int = 0
    rows_without_context: int = 0
    missing_rows: int = 0
    cancelled_at: Counter[str] = field(default_factory=Counter)  # how far cancelled transactions got


def _plans(demo: DemoData, rng: random.Random) -> list[Plan]:
    tenants = [demo.acme, demo.globex]
    plans = []
    for _ in range(TRANSACTIONS):
        roll = rng.random()
        tenant = rng.choice(tenants)
        if roll < 0.10:
            context = NO_CONTEXT
        elif roll < 0.25:
            context = TenantContext(
                tenant_id=tenant.id, party_kind=PartyKind.SUPPLIER, party_id=rng.choice(tenant.supplier_ids[:2])
            )
        else:
            context = TenantContext.system(tenant.id)
        failure = None
        if rng.random() < FAILURE_RATE:
            failure = rng.choice(["python", "sql", "cancel"])
        plans.append(Plan(context=context, path=rng.choice(PATHS), failure=failure, fail_after=rng.randint(0, 2)))
    return plans


def _check_suppliers(context: TenantContext, rows: list[tuple[UUID, UUID]], tally: Tally, expected: int) -> None:
    tally.rows_checked += len(rows)
    if context.tenant_id is None:
        tally.rows_without_context += len(rows)
        return
    tally.wrong_tenant += sum(1 for tenant_id, _ in rows if tenant_id != context.tenant_id)
    if context.party_kind == PartyKind.SUPPLIER:
        tally.wrong_party += sum(1 for _, supplier_id in rows if supplier_id != context.party_id)
        expected = 1
    # a wall that shows too little is also a wrong context (e.g. another party's settings)
    if len(rows) != expected:
        tally.missing_rows += 1


def _check_memberships(context: TenantContext, rows: list[tuple[UUID, UUID | None]], tally: Tally) -> None:
    tally.rows_checked += len(rows)
    if context.tenant_id is None:
        tally.rows_without_context += len(rows)
        return
    tally.wrong_tenant += sum(1 for tenant_id, _ in rows if tenant_id != context.tenant_id)
    if context.party_kind == PartyKind.SUPPLIER:
        tally.wrong_party += sum(1 for _, supplier_id in rows if supplier_id != context.party_id)


SUPPLIERS = "SELECT tenant_id, id FROM suppliers"
MEMBERSHIPS = "SELECT tenant_id, supplier_id FROM memberships"
BROKEN = "SELECT no_such_column FROM no_such_table"


@asynccontextmanager
async def _opened(db: Database, plan: Plan) -> AsyncIterator[Callable[[str], Awaitable[list[Any]]]]:
    """The plan's transaction, as a way to run a statement and get its rows."""
    if plan.path == "read":
        async with db.read(plan.context) as driver:
            yield driver.fetch
        return
    async with db.transaction(plan.context) as session:

        async def fetch(sql: str) -> list[Any]:
            return list(await session.execute(text(sql)))

        yield fetch


async def _transaction(
    db: Database, plan: Plan, tally: Tally, expected_suppliers: dict[UUID, int], stage: list[str]
) -> None:
    context = plan.context
    expected = expected_suppliers.get(context.tenant_id, 0) if context.tenant_id else 0
    async with _opened(db, plan) as fetch:
        stage[0] = "in transaction"
        for step in range(3):
            # fail before the first read, between the reads, or after both (then rolled back)
            if step == plan.fail_after and plan.failure == "python":
                raise InjectedError
            if step == plan.fail_after and plan.failure == "sql":
                await fetch(BROKEN)
            if step == 0:
                _check_suppliers(context, [(row[0], row[1]) for row in await fetch(SUPPLIERS)], tally, expected)
            elif step == 1:
                _check_memberships(context, [(row[0], row[1]) for row in await fetch(MEMBERSHIPS)], tally)
        stage[0] = "after reads"


async def _run(db: Database, plan: Plan, tally: Tally, rng: random.Random, expected: dict[UUID, int]) -> None:
    tally.started += 1
    tally.paths[plan.path] += 1
    tally.contexts[plan.context.party_kind.value if plan.context.party_kind else "none"] += 1
    if plan.failure == "cancel":
        stage = ["before begin"]
        task = asyncio.create_task(_transaction(db, plan, tally, expected, stage))
        # cancel at a random await point: waiting for the pool, in set_config, mid-read, at commit
        for _ in range(rng.randint(0, 8)):
            await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            tally.failed["cancel"] += 1
            tally.failed_by_path[plan.path, "cancel"] += 1
            tally.cancelled_at[stage[0]] += 1
        else:
            tally.committed += 1  # finished before the cancel arrived
        return
    try:
        await _transaction(db, plan, tally, expected, ["before begin"])
    except InjectedError:
        tally.failed["python"] += 1
        tally.failed_by_path[plan.path, "python"] += 1
    except (DBAPIError, asyncpg.PostgresError):  # the ORM's wrapper, and the bare driver's own
        tally.failed["sql"] += 1
        tally.failed_by_path[plan.path, "sql"] += 1
    else:
        tally.committed += 1


async def test_contexts_never_leak_across_pooled_connections(
    owner_url: str, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    seed = int(os.environ.get("MERKATO_STRESS_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)  # print the seed, rerun a failure with MERKATO_STRESS_SEED
    plans = _plans(demo, rng)
    async with owner_engine.connect() as owner:  # other modules may have added suppliers
        counted = await owner.execute(text("SELECT tenant_id, count(*) FROM suppliers GROUP BY tenant_id"))
        expected: dict[UUID, int] = dict(counted.tuples().all())
    tally = Tally()
    db = Database.connect(owner_url, pool_size=POOL_SIZE)
    started = time.monotonic()
    try:
        queue = iter(plans)

        async def worker() -> None:
            # the shared iterator hands each plan to exactly one worker (no await between next() calls)
            for plan in queue:
                await _run(db, plan, tally, rng, expected)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        # every connection went back to the pool, whatever happened to its transaction
        checked_out = db.engine.pool.checkedout()  # type: ignore[attr-defined]
    finally:
        await db.dispose()
    elapsed = time.monotonic() - started
    print(
        f"\npool stress (seed {seed}): {tally.started} transactions in {elapsed:.1f}s on pool_size={POOL_SIZE},"
        f" concurrency {CONCURRENCY}; paths {dict(tally.paths)}; contexts {dict(tally.contexts)};"
        f" committed {tally.committed},"
        f" failed {dict(tally.failed)} (cancelled at {dict(tally.cancelled_at)});"
        f" rows checked {tally.rows_checked}; wrong tenant {tally.wrong_tenant},"
        f" wrong party {tally.wrong_party}, rows without context {tally.rows_without_context},"
        f" transactions with missing rows {tally.missing_rows}"
    )
    assert tally.started == TRANSACTIONS
    assert tally.committed + sum(tally.failed.values()) == TRANSACTIONS
    assert tally.wrong_tenant == 0, f"seed {seed}"
    assert tally.wrong_party == 0, f"seed {seed}"
    assert tally.rows_without_context == 0, f"seed {seed}"
    assert tally.missing_rows == 0, f"seed {seed}"
    # the run really exercised what it claims to
    assert tally.rows_checked > TRANSACTIONS
    assert all(tally.failed[kind] > 0 for kind in ("python", "sql", "cancel")), tally.failed
    # ... on both paths
    failures = [(path, kind) for path in PATHS for kind in ("python", "sql", "cancel")]
    assert all(tally.failed_by_path[failure] > 0 for failure in failures), tally.failed_by_path
    assert checked_out == 0


async def test_a_session_level_setting_cannot_leak_into_the_next_transaction(owner_url: str, demo: DemoData) -> None:
    """Poison a pooled connection the way a buggy `SET app.tenant_id` would, then reuse it."""
    db = Database.connect(owner_url, pool_size=1)
    try:
        async with db.engine.connect() as connection:
            poisoned_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
            await connection.execute(
                text("SELECT set_config('app.tenant_id', :t, false), set_config('app.party_kind', 'system', false)"),
                {"t": str(demo.globex.id)},
            )
            await connection.commit()
        async with db.transaction(NO_CONTEXT) as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) == poisoned_pid
            assert await session.scalar(text("SELECT count(*) FROM suppliers")) == 0
        async with db.transaction(TenantContext.system(demo.acme.id)) as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) == poisoned_pid
            tenants = set((await session.execute(text("SELECT tenant_id FROM suppliers"))).scalars())
            assert tenants == {demo.acme.id}
        # the bare driver path sets its context the same way
        async with db.read(NO_CONTEXT) as driver:
            assert await driver.fetchval("SELECT pg_backend_pid()") == poisoned_pid
            assert await driver.fetchval("SELECT count(*) FROM suppliers") == 0
        async with db.read(TenantContext.system(demo.acme.id)) as driver:
            assert {row[0] for row in await driver.fetch("SELECT tenant_id FROM suppliers")} == {demo.acme.id}
        # the poison is still on the connection between transactions: only the per-transaction
        # set_config keeps it out, which is why every transaction must go through Database
        async with db.engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) == poisoned_pid
            assert await connection.scalar(text("SELECT current_setting('app.tenant_id')")) == str(demo.globex.id)
    finally:
        await db.dispose()
