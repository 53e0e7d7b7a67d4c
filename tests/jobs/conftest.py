"""Fixtures of the delivery tests: a database of their own, the broker under test, the chaos
schema the test jobs write their effects to, a Database that publishes to that broker after commit
(the app's own path), and worker process groups that are always killed at the end of the test
that started them.

The broker is the run's private Redis (tests/conftest.py starts it); a test marked
`@pytest.mark.brokers("redis", "rabbitmq")` runs once on each, RabbitMQ being the server at
RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672), reported as skipped where none answers.

The database is not the suite's shared one: `owner_url`, `owner_engine`, `db` and `demo` are
overridden here with the same recipe (migrations, then the demo seed) on a second fresh database.
Any relay running on the shared database — the embedded worker of the browser tests' live server
lives for the whole session — would otherwise publish the test jobs too and run them where they
are not registered, and the workers started here would run other modules' leftover jobs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

import tests.jobs.effects  # the test jobs must be registered here too: enqueue refuses unknown names
from backend.dev.demo import DemoData, seed_demo
from backend.jobs.broker import broker_for, publisher
from backend.kit.db import to_async_url
from tenants.isolation import Database
from tests.fixtures.database import fresh_database
from tests.fixtures.services import unavailable
from tests.jobs.harness import (
    BrokerUnderTest,
    RedisUnderTest,
    Workers,
    connect_rabbitmq,
    lock_rabbitmq,
    worker_env,
)

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here runs on Redis; one marked `brokers(...)` once on each broker it names."""
    if "broker" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("brokers")
        kinds = marker.args if marker else ("redis",)
        metafunc.parametrize("broker", kinds, indirect=True, scope="session")


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
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerUnderTest]:
    """The broker of the test's parameter; a RabbitMQ one is held only while its tests run."""
    if request.param == "redis":
        redis_broker = RedisUnderTest(request.getfixturevalue("redis_url"))
        yield redis_broker
        redis_broker.close()
        return
    assert request.param == "rabbitmq", request.param
    connection = connect_rabbitmq(RABBITMQ_URL)
    if connection is None:
        # the one suite CI may run without: the issue asks for it to be reported as skipped
        unavailable(f"no AMQP server answers at {RABBITMQ_URL} (RABBITMQ_URL)", even_in_ci=True)
    rabbitmq = lock_rabbitmq(RABBITMQ_URL, connection)
    try:
        if consumers := rabbitmq.consumers():
            unavailable(
                f"{consumers} consumer(s) outside this run take jobs from the queue at {RABBITMQ_URL}"
                " (a merkato worker?): the delivery tests need it to themselves",
                even_in_ci=True,
            )
        yield rabbitmq
    finally:
        rabbitmq.close()


@pytest.fixture(scope="session")
async def chaos_schema(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    async with owner_engine.begin() as owner:
        await owner.execute(text(tests.jobs.effects.DROP))
        for statement in tests.jobs.effects.CREATE:
            await owner.execute(text(statement))
    yield
    async with owner_engine.begin() as owner:
        await owner.execute(text(tests.jobs.effects.DROP))


async def _clean(owner_engine: AsyncEngine, broker: BrokerUnderTest) -> None:
    broker.clear()
    # Each statement in its own transaction: locks held from one while waiting in the next could
    # close a cycle with a running worker's transaction.
    async with owner_engine.connect() as owner:
        await owner.execution_options(isolation_level="AUTOCOMMIT")
        # the owner, because the app role may not delete jobs
        await owner.execute(text("DELETE FROM outbox WHERE actor LIKE 'testjobs.%'"))
        for statement in tests.jobs.effects.CLEAR:
            await owner.execute(text(statement))


@pytest.fixture(autouse=True)
async def clean(owner_engine: AsyncEngine, broker: BrokerUnderTest, chaos_schema: None) -> AsyncIterator[None]:
    """Every test starts with no test jobs, no effects and empty queues, and leaves none behind."""
    await _clean(owner_engine, broker)
    yield
    await _clean(owner_engine, broker)


@pytest.fixture
def workers(owner_url: str, broker: BrokerUnderTest, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(env=worker_env(owner_url, broker.url, tmp_path), logs=tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


@pytest.fixture(scope="session")
async def publishing_db(owner_url: str, broker: BrokerUnderTest) -> AsyncIterator[Database]:
    """As the app role, publishing committed jobs to the broker under test right after commit."""
    client = broker_for(broker.url)
    database = Database.connect(owner_url, pool_size=2, publish=publisher(client))
    yield database
    await database.dispose()
    client.close()
