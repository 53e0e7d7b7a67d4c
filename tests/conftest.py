"""The test database: a fresh PostgreSQL database per run, built by the migrations, seeded with the demo.

The server is `TEST_DATABASE_URL` or `DATABASE_URL` when set (an owner URL such as
postgresql://postgres@127.0.0.1:5432/postgres), else an embedded pgserver under
.merkato/test-pg. Either way each run creates its own `merkato_test_<hex>` database, so
concurrent runs and a developer's own data never meet, and drops it at the end.

Tests talk to the database as the app role through `db` (Database.connect, exactly as the
server does), never as the owner; `owner_engine` exists only for catalog lints and for reading
what RLS hides in order to prove that it is hidden.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from backend.dev.demo import DemoData, seed_demo
from backend.kit.db import to_async_url
from tenants.isolation import Database
from tests.fixtures.database import fresh_database
from tests.fixtures.mail import worker_environment  # noqa: F401  (autouse: where the worker's mail goes)
from tests.fixtures.services import private_redis
from tests.fixtures.sessions import SessionRows, create_sessions, remove_sessions

REPO = Path(__file__).resolve().parent.parent
EMBEDDED_PGDATA = REPO / ".merkato" / "test-pg"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An owner URL of some database on the server the test database will be created on."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, containers); harmless here
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server  # only needed without a configured server

    EMBEDDED_PGDATA.parent.mkdir(parents=True, exist_ok=True)
    # pgserver counts the processes holding a handle and stops the server after the last one.
    server = get_server(EMBEDDED_PGDATA)
    try:
        # postgresql://postgres:@/postgres?host=<socket dir>; asyncpg takes the socket from ?host=
        yield server.get_uri()
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
async def owner_url(server_url: str) -> AsyncIterator[str]:
    """Owner URL of a fresh database built by the Alembic migrations (never create_all)."""
    async with fresh_database(server_url, "merkato_test") as url:
        yield url


@pytest.fixture(scope="session")
async def owner_engine(owner_url: str) -> AsyncIterator[AsyncEngine]:
    """The owner (superuser on the test servers): for catalog lints and seeing past RLS only."""
    engine = create_async_engine(to_async_url(owner_url), pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def db(owner_url: str) -> AsyncIterator[Database]:
    """The app's own way in: one owner URL, every connection switched to merkato_app."""
    database = Database.connect(owner_url)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def demo(db: Database) -> DemoData:
    return await seed_demo(db)


@pytest.fixture(scope="module")
async def session_rows(db: Database, demo: DemoData) -> AsyncIterator[SessionRows]:
    """web_sessions and login_tickets rows in both tenants (staff, supplier and customer users),
    for one module only: other modules count the sessions their own logins make."""
    rows = await create_sessions(db, demo)
    yield rows
    await remove_sessions(db, rows)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis of this run's own (redis-server on a free port, stopped at the end): nothing needs
    to be running beforehand, and no other run or program shares its queues."""
    with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url
