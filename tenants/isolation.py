"""Tenant isolation: the per-transaction context, the transaction factory, and the one key an
anonymous step may look up in the global tables. (The policies themselves are literal SQL in the
migration that made them: migrations never import this module.)

Every transaction starts with one round trip that opens it and sets app.tenant_id,
app.party_kind, app.party_id and app.identity_id with set_config(..., true) — transaction-local,
so a pooled connection can never carry one tenant's context into another's transaction.

To ride the context in that first round trip the engine runs in AUTOCOMMIT (SQLAlchemy sends no
BEGIN of its own) and `Database.transaction` sends "BEGIN; SELECT set_config(...)" as one simple
query, then COMMIT or ROLLBACK itself. A connection whose transaction could not be closed
cleanly is invalidated, never returned to the pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from backend.kit.db import APP_ROLE, make_engine
from tenants.context import NO_CONTEXT, TenantContext

log = logging.getLogger("merkato.db")

CONTEXT_KEY = "tenant_context"
# session.info keys: what to hand the publisher after commit, and whether there is a publisher
PUBLISH_KEY = "publish_after_commit"
PUBLISHER_KEY = "has_publisher"

_SETTINGS = ("app.tenant_id", "app.party_kind", "app.party_id", "app.identity_id")


class AccessChanged(Exception):
    """The login behind a bearer token changed since the token was issued (its password, its
    roles, its access): the token is no longer good for anything."""


# the SQLSTATE merkato_require_access raises (invalid_authorization_specification)
_ACCESS_CHANGED = "28000"


def begin_sql(context: TenantContext) -> str:
    """BEGIN and the context in one simple-protocol query, and for a bearer token the check that
    its login has not changed since (migration 0009, merkato_require_access), all in the first
    round trip. The values are inlined because the simple protocol has no parameters; they are
    UUIDs, integers and an enum member, never user text, and are quoted as literals regardless."""
    values = ", ".join(
        f"set_config('{name}', {_literal(value)}, true)"
        for name, value in zip(_SETTINGS, context.settings, strict=True)
    )
    sql = f"BEGIN; SELECT {values}"
    if context.epochs is not None and context.membership_id is not None:
        identity_epoch, access_epoch = context.epochs
        sql += (
            f"; SELECT merkato_require_access({_literal(str(context.membership_id))},"
            f" {int(identity_epoch)}, {int(access_epoch)})"
        )
    return sql


async def _begin(driver: Any, context: TenantContext) -> None:
    try:
        await driver.execute(begin_sql(context))
    except Exception as error:
        if getattr(error, "sqlstate", None) == _ACCESS_CHANGED:
            raise AccessChanged() from error
        raise


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def context_of(session: AsyncSession) -> TenantContext:
    """The context a session was opened with; repositories read their party scope from it."""
    context: TenantContext = session.info.get(CONTEXT_KEY, NO_CONTEXT)
    return context


Publish = Callable[[list[Any]], Awaitable[None]]


class Database:
    """The app-role engine and the one way to open a transaction with a tenant context.

    With a `publish` callback, whatever a transaction queued under PUBLISH_KEY (outbox jobs) is
    handed to it right after the commit; a failure there is only logged, because the relay
    publishes anything that was committed but not done in time.
    """

    def __init__(self, engine: AsyncEngine, publish: Publish | None = None) -> None:
        self.engine = engine
        self.publish = publish
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)

    @classmethod
    def connect(
        cls, owner_url: str, app_url: str | None = None, *, pool_size: int = 10, publish: Publish | None = None
    ) -> Database:
        """Run as merkato_app, logged in through the app URL if given (production), else through
        the owner's URL (development and tests). Either way each connection switches to
        merkato_app, so the app URL's login may be a NOINHERIT member role that by itself can
        read nothing: undoing the switch then gains nothing."""
        return cls(make_engine(app_url or owner_url, role=APP_ROLE, pool_size=pool_size), publish)

    @asynccontextmanager
    async def transaction(self, context: TenantContext) -> AsyncIterator[AsyncSession]:
        """One transaction: committed if the block ends normally, rolled back if it raises."""
        info = {CONTEXT_KEY: context, PUBLISHER_KEY: self.publish is not None}
        async with self._sessions(info=info) as session:
            connection = await session.connection()
            driver = _driver(connection)
            try:
                await _begin(driver, context)
                yield session
                await session.flush()
                await driver.execute("COMMIT")
            except BaseException:
                # Detach first: objects already loaded stay readable for the error page.
                session.expunge_all()
                await _rollback_or_invalidate(driver, connection)
                raise
            if self.publish and (committed := session.info.pop(PUBLISH_KEY, None)):
                try:
                    await self.publish(committed)
                except Exception:
                    log.warning("publishing %d committed job(s) failed; the relay will", len(committed), exc_info=True)

    @asynccontextmanager
    async def read(self, context: TenantContext) -> AsyncIterator[Any]:
        """A transaction on the bare driver connection (asyncpg), for the hottest reads: the same
        role, context and RLS as `transaction`, without an ORM session's cost per request."""
        async with self.engine.connect() as connection:
            driver = _driver(connection)
            try:
                await _begin(driver, context)
                yield driver
                await driver.execute("COMMIT")
            except BaseException:
                await _rollback_or_invalidate(driver, connection)
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


async def driver_of(session: AsyncSession) -> Any:
    """The asyncpg connection of a session's transaction, for the few statements that are hot
    enough to skip SQLAlchemy's execution path (same transaction, same context, same RLS)."""
    return _driver(await session.connection())


def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under a checked-out pooled connection (no await needed)."""
    assert connection.sync_connection is not None
    driver = connection.sync_connection.connection.driver_connection
    assert driver is not None
    return driver


async def _rollback_or_invalidate(driver: Any, connection: AsyncConnection) -> None:
    try:
        if driver.is_in_transaction():
            await asyncio.shield(driver.execute("ROLLBACK"))
    except BaseException:  # noqa: BLE001  (whatever state it is in, it must not be pooled again)
        await connection.invalidate()


# --- global tables: what a named anonymous step may look up -----------------------------------
#
# Global tables (identities, their credentials, apex sessions, one-time links, login failures,
# tenants) carry no tenant_id, so the tenant policy cannot guard them. Each is readable only where
# the code path needs it: the caller's own identity, a tenant's own members, or the one key an
# anonymous step is looking up (the e-mail being logged in, the hash of the token presented, the
# slug of the host), named for the transaction with `allow_lookup` (the policies of migration 0009
# read it as app.lookup_<key>). An app-level bug that forgets a WHERE clause then finds nothing
# instead of every login of the platform.


async def allow_lookup(
    session: AsyncSession,
    *,
    email: str | None = None,
    token_hash: bytes | None = None,
    slug: str | None = None,
    customer: str | None = None,
    client: str | None = None,
) -> None:
    """Name, for the rest of this transaction, the one key an anonymous step may look up in the
    global tables (transaction-local, like the tenant context)."""
    values = {
        "email": email,
        "token": token_hash.hex() if token_hash is not None else None,
        "slug": slug,
        "customer": customer,
        "client": client,
    }
    chosen = {key: value for key, value in values.items() if value is not None}
    if not chosen:
        return
    driver = await driver_of(session)
    await driver.execute(
        "SELECT "
        + ", ".join(f"set_config('app.lookup_{key}', {_literal(value)}, true)" for key, value in chosen.items())
    )


async def act_as(session: AsyncSession, identity_id: UUID) -> None:
    """From here on this transaction acts for `identity_id` (app.identity_id): the one context in
    which that identity's own rows (its credentials, its apex sessions) may be written. For the
    named steps that have just proved who someone is: a one-time link redeemed, a login."""
    driver = await driver_of(session)
    await driver.execute(f"SELECT set_config('app.identity_id', {_literal(str(identity_id))}, true)")
