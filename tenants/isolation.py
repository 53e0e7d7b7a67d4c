"""Tenant isolation: the per-transaction context, the transaction factory, and the RLS DDL.

Every transaction starts with one statement that sets app.tenant_id, app.party_kind,
app.party_id and app.identity_id with set_config(..., true) — transaction-local, so a pooled
connection can never carry one tenant's context into another's transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from backend.kit.db import make_engine
from tenants.context import NO_CONTEXT, TenantContext

CONTEXT_KEY = "tenant_context"

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


class Database:
    """The app-role engine and the one way to open a transaction with a tenant context."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=True)

    @classmethod
    def connect(cls, owner_url: str, app_url: str | None = None, *, pool_size: int = 10) -> Database:
        """Run as merkato_app, logged in through the app URL if given (production), else through
        the owner's URL (development and tests). Either way each connection switches to
        merkato_app, so the app URL's login may be a NOINHERIT member role that by itself can
        read nothing: undoing the switch then gains nothing."""
        return cls(make_engine(app_url or owner_url, as_app_role=True, pool_size=pool_size))

    @asynccontextmanager
    async def transaction(self, context: TenantContext) -> AsyncIterator[AsyncSession]:
        """One transaction: committed if the block ends normally, rolled back if it raises."""
        async with self._sessions(info={CONTEXT_KEY: context}) as session, session.begin():
            try:
                yield session
            except BaseException:
                # Detach before the rollback expires them, so objects already loaded stay readable
                # for the error page that reports the failure.
                session.expunge_all()
                raise

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


def own_rows_policy(table: str, *, identity_column: str) -> list[str]:
    """Let an identity read its own rows across tenants, only outside any tenant (the apex chooser)."""
    predicate = f"{_TENANT} IS NULL AND {identity_column} = {_IDENTITY}"
    return [f"CREATE POLICY own_rows ON {table} FOR SELECT USING ({predicate})"]
