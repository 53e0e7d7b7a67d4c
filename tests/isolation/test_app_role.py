"""The server's connections run as merkato_app, even when only the owner's URL is configured.

RLS only binds a role that is neither superuser, BYPASSRLS nor the tables' owner, so every query
the app makes must run as merkato_app: these tests go through Database.connect(owner_url), the
same call the server makes with a single DATABASE_URL.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from backend.kit.db import APP_ROLE
from tenants.context import NO_CONTEXT, PartyKind, TenantContext
from tenants.isolation import Database
from tests.fixtures.transactions import rolled_back


async def _owner_role(owner_engine: AsyncEngine) -> str:
    async with owner_engine.connect() as owner:
        role: str = await owner.scalar(text("SELECT current_user"))
    return role


def _contexts(demo: DemoData) -> dict[str, TenantContext]:
    return {
        "no context": NO_CONTEXT,
        "system": TenantContext.system(demo.acme.id),
        "supplier": TenantContext(
            tenant_id=demo.acme.id, party_kind=PartyKind.SUPPLIER, party_id=demo.acme.supplier_ids[0]
        ),
    }


async def test_transactions_run_as_the_app_role(
    db: Database, owner_url: str, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    owner = await _owner_role(owner_engine)
    assert owner != APP_ROLE
    assert owner == make_url(owner_url).username  # the one configured URL is the owner's
    for name, context in _contexts(demo).items():
        async with db.transaction(context) as session:
            current, session_user = (await session.execute(text("SELECT current_user, session_user"))).one()
        # logged in as the owner (only one URL), acting as the app role from the first packet on
        assert (current, session_user) == (APP_ROLE, owner), name


async def test_every_pooled_connection_is_the_app_role(owner_url: str) -> None:
    """Fill a small pool to its limit at once, so every connection it makes is looked at."""
    pool_size = 3
    connections = pool_size  # make_engine allows no overflow: pool_size is the ceiling
    database = Database.connect(owner_url, pool_size=pool_size)
    barrier = asyncio.Barrier(connections)  # all transactions open together: no connection reuse
    try:

        async def probe() -> tuple[int, str]:
            async with database.transaction(NO_CONTEXT) as session:
                pid, role = (await session.execute(text("SELECT pg_backend_pid(), current_user"))).one()
                await barrier.wait()
            return pid, role

        seen = await asyncio.gather(*(probe() for _ in range(connections)))
    finally:
        await database.dispose()
    assert len({pid for pid, _ in seen}) == connections
    assert {role for _, role in seen} == {APP_ROLE}


async def test_resetting_the_role_stays_the_app_role(db: Database) -> None:
    # The role rides in the startup packet, which makes it the session's default: RESET (or a
    # pool's reset query) returns to merkato_app, not to the owner who logged in.
    async with rolled_back(db, NO_CONTEXT) as session:
        await session.execute(text("RESET ROLE"))
        assert await session.scalar(text("SELECT current_user")) == APP_ROLE
        await session.execute(text("RESET ALL"))
        assert await session.scalar(text("SELECT current_user")) == APP_ROLE


async def _count_suppliers_without_row_security(db: Database, context: TenantContext) -> None:
    async with rolled_back(db, context) as session:
        await session.execute(text("SET LOCAL row_security = off"))
        await session.execute(text("SELECT count(*) FROM suppliers"))


async def test_row_security_cannot_be_switched_off(db: Database, demo: DemoData) -> None:
    # for a role without BYPASSRLS, row_security=off makes RLS-governed queries fail, never bypass
    with pytest.raises(DBAPIError) as raised:
        await _count_suppliers_without_row_security(db, TenantContext.system(demo.acme.id))
    assert getattr(raised.value.orig, "sqlstate", None) == "42501"


async def test_with_an_app_login_undoing_the_role_switch_gains_nothing(
    owner_url: str, owner_engine: AsyncEngine
) -> None:
    """Production logs in through DATABASE_APP_URL as a NOINHERIT member of merkato_app: SQL that
    resets the role is left with a role that can read nothing at all."""
    async with owner_engine.connect() as owner:
        await owner.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'merkato_web_test') THEN "
                f"CREATE ROLE merkato_web_test LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS IN ROLE {APP_ROLE}; "
                "END IF; END $$"
            )
        )
        await owner.commit()
    app_url = make_url(owner_url).set(username="merkato_web_test").render_as_string(hide_password=False)
    database = Database.connect(owner_url, app_url)
    try:
        async with rolled_back(database, NO_CONTEXT) as session:
            assert await session.scalar(text("SELECT current_user")) == APP_ROLE
            await session.execute(text("SET LOCAL ROLE NONE"))
            assert await session.scalar(text("SELECT current_user")) == "merkato_web_test"
            with pytest.raises(DBAPIError, match="permission denied"):
                await session.execute(text("SELECT count(*) FROM suppliers"))
    finally:
        await database.dispose()
