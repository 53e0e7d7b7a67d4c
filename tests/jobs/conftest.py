"""Fixtures of the delivery tests: a database of their own, a claimed Redis database, the chaos
schema the test jobs write their effects to, a Database that publishes to that Redis after commit
(the app's own path), and worker process groups that are always killed at the end of the test
that started them.

The database is not the suite's shared one: `owner_url`, `owner_engine`, `db` and `demo` are
overridden here with the same recipe (migrations, then the demo seed) on a second fresh database.
Any relay running on the shared database — the embedded worker of the browser tests' live server
lives for the whole session — would otherwise publish the test jobs too and run them where they
are not registered, and the workers started here would run other modules' leftover jobs.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import tests.jobs.effects  # the test jobs must be registered here too: enqueue refuses unknown names
from backend.dev.demo import DemoData, seed_demo
from backend.jobs.broker import broker_for, publisher
from backend.kit.db import to_async_url
from tenants.isolation import Database
from tests.fixtures.database import fresh_database
from tests.jobs.harness import ClaimedRedis, Workers, claim_redis, release_redis, worker_env

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
async def owner_url(server_url: str) -> AsyncIterator[str]:
    """Owner URL of a fresh database for tests/jobs alone (the browser tests' live server runs a
    relay on the shared one for the whole session)."""
    async with fresh_database(server_url, "merkato_jobs") as url:
        yield url


@pytest.fixture(scope="session")
async def owner_engine(owner_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(owner_url), pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def db(owner_url: str) -> AsyncIterator[Database]:
    database = Database.connect(owner_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def demo(db: Database) -> DemoData:
    return await seed_demo(db)


@pytest.fixture(scope="session")
def test_redis() -> Iterator[ClaimedRedis]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"the delivery tests need a real Redis and none answers at {REDIS_URL}: {error}")
    claimed = claim_redis(REDIS_URL, secrets.token_hex(8))
    if claimed is None:
        pytest.fail(f"Redis databases 7..15 at {REDIS_URL} are all in use by other test runs or programs")
    claimed.clear()
    yield claimed
    release_redis(claimed)


@pytest.fixture(scope="session")
async def chaos_schema(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    async with owner_engine.begin() as owner:
        await owner.execute(text(tests.jobs.effects.DROP))
        for statement in tests.jobs.effects.CREATE:
            await owner.execute(text(statement))
    yield
    async with owner_engine.begin() as owner:
        await owner.execute(text(tests.jobs.effects.DROP))


async def _clean(owner_engine: AsyncEngine, test_redis: ClaimedRedis) -> None:
    test_redis.clear()
    # Each statement in its own transaction: locks held from one while waiting in the next could
    # close a cycle with a running worker's transaction.
    async with owner_engine.connect() as owner:
        await owner.execution_options(isolation_level="AUTOCOMMIT")
        # the owner, because the app role may not delete jobs
        await owner.execute(text("DELETE FROM outbox WHERE actor LIKE 'testjobs.%'"))
        for statement in tests.jobs.effects.CLEAR:
            await owner.execute(text(statement))


@pytest.fixture(autouse=True)
async def clean(owner_engine: AsyncEngine, test_redis: ClaimedRedis, chaos_schema: None) -> AsyncIterator[None]:
    """Every test starts with no test jobs, no effects and empty queues, and leaves none behind."""
    await _clean(owner_engine, test_redis)
    yield
    await _clean(owner_engine, test_redis)


@pytest.fixture
def workers(owner_url: str, test_redis: ClaimedRedis, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(env=worker_env(owner_url, test_redis.url, tmp_path), logs=tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


@pytest.fixture(scope="session")
async def publishing_db(owner_url: str, test_redis: ClaimedRedis) -> AsyncIterator[Database]:
    """As the app role, publishing committed jobs to the test Redis right after commit."""
    broker = broker_for(test_redis.url)
    database = Database.connect(owner_url, pool_size=2, publish=publisher(broker))
    yield database
    await database.dispose()
    broker.close()
