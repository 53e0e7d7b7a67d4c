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

import asyncio
import os
import secrets
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from backend.dev.demo import DemoData, seed_demo
from backend.kit.db import to_async_url
from backend.migrate import upgrade
from tenants.isolation import Database
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


def _with_database(url: str, database: str) -> str:
    # make_url/render keep passwords, ports and the ?host= socket directory intact.
    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def owner_url(server_url: str) -> AsyncIterator[str]:
    """Owner URL of a fresh database built by the Alembic migrations (never create_all)."""
    name = f"merkato_test_{secrets.token_hex(4)}"
    # NullPool: no connection may linger on the maintenance database once a statement is done.
    admin = create_async_engine(to_async_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(server_url, name)
    try:
        # Alembic's env.py calls asyncio.run(), which refuses to run inside this event loop.
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        async with admin.connect() as connection:
            # FORCE: a test that failed half-way may have left a connection behind.
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


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
