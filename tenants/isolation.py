"""Tenant isolation: the per-transaction context, the transaction factory, and the RLS DDL.

Every transaction starts with one statement that sets app.tenant_id, app.party_kind,
app.party_id and app.identity_id with set_config(..., true) — transaction-local, so a pooled
connection can never carry one tenant's context into another's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from backend.kit.db import APP_ROLE, RELAY_ROLE, make_engine
from tenants.context import NO_CONTEXT, TenantContext

log = logging.getLogger("merkato.db")

CONTEXT_KEY = "tenant_context"
# session.info keys: what to hand the publisher after commit, and whether there is a publisher
PUBLISH_KEY = "publish_after_commit"
PUBLISHER_KEY = "has_publisher"

SET_CONTEXT_SQL = (
    "SELECT set_config('app.tenant_id', $1, true), set_config('app.party_kind', $2, true),"
    " set_config('app.party_id', $3, true), set_config('app.identity_id', $4, true)"
)


@event.listens_for(Session, "after_begin")
def _apply_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context: TenantContext = session.info.get(CONTEXT_KEY, NO_CONTEXT)
    connection.exec_driver_sql(SET_CONTEXT_SQL, context.settings)


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
            async with session.begin():
                try:
                    yield session
                except BaseException:
                    # Detach before the rollback expires them, so objects already loaded stay
                    # readable for the error page that reports the failure.
                    session.expunge_all()
                    raise
            if self.publish and (committed := session.info.pop(PUBLISH_KEY, None)):
                try:
                    await self.publish(committed)
                except Exception:
                    log.warning("publishing %d committed job(s) failed; the relay will", len(committed), exc_info=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


# --- DDL used by migrations ---------------------------------------------------------------

_TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
_PARTY_KIND = "(SELECT current_setting('app.party_kind', true))"
_PARTY_ID = "(SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)"
_IDENTITY = "(SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid)"


def tenant_rls(table: str) -> list[str]:
    """RLS ENABLE + FORCE and the tenant policy for a tenant-owned table."""
    predicate = f"tenant_id = {_TENANT}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]


def party_rls(table: str, *, supplier_column: str | None, customer_column: str | None) -> list[str]:
    """A RESTRICTIVE policy: supplier and customer users reach only their own party's rows."""
    clauses = [f"{_PARTY_KIND} IN ('staff', 'system')"]
    if supplier_column:
        clauses.append(f"({_PARTY_KIND} = 'supplier' AND {supplier_column} = {_PARTY_ID})")
    if customer_column:
        clauses.append(f"({_PARTY_KIND} = 'customer' AND {customer_column} = {_PARTY_ID})")
    predicate = " OR ".join(clauses)
    return [f"CREATE POLICY party_scope ON {table} AS RESTRICTIVE USING ({predicate}) WITH CHECK ({predicate})"]


def system_only_rls(table: str) -> list[str]:
    """A RESTRICTIVE policy: only platform code (login, tickets) may touch these rows, never a
    request acting for a user, whatever that user's party."""
    predicate = f"{_PARTY_KIND} = 'system'"
    return [f"CREATE POLICY system_only ON {table} AS RESTRICTIVE USING ({predicate}) WITH CHECK ({predicate})"]


def relay_rls(table: str) -> list[str]:
    """Let the relay role see and update this table's rows in every tenant."""
    return [f"CREATE POLICY relay_sweep ON {table} TO {RELAY_ROLE} USING (true) WITH CHECK (true)"]


def own_rows_policy(table: str, *, identity_column: str) -> list[str]:
    """Let an identity read its own rows across tenants, only outside any tenant (the apex chooser)."""
    predicate = f"{_TENANT} IS NULL AND {identity_column} = {_IDENTITY}"
    return [f"CREATE POLICY own_rows ON {table} FOR SELECT USING ({predicate})"]
