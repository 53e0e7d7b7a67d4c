"""Tenant isolation: the per-transaction context, the transaction factory, and the RLS DDL.

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

from backend.kit.db import APP_ROLE, RELAY_ROLE, make_engine
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


# --- DDL used by migrations ---------------------------------------------------------------

TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
PARTY_KIND = "(SELECT current_setting('app.party_kind', true))"
PARTY_ID = "(SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)"
IDENTITY = "(SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid)"
SYSTEM = f"{PARTY_KIND} = 'system'"


# --- global tables: what a named anonymous step may look up -----------------------------------
#
# Global tables (identities, their credentials, apex sessions, one-time links, login failures,
# tenants) carry no tenant_id, so the tenant policy cannot guard them. Each is readable only where
# the code path needs it: the caller's own identity, a tenant's own members, or the one key an
# anonymous step is looking up (the e-mail being logged in, the hash of the token presented, the
# slug of the host), named for the transaction with `allow_lookup`. An app-level bug that forgets
# a WHERE clause then finds nothing instead of every login of the platform.

LOOKUPS = ("email", "token", "slug", "customer", "client")


def lookup(key: str) -> str:
    """The SQL for the value `allow_lookup` named for this transaction (NULL when it did not)."""
    if key not in LOOKUPS:
        raise ValueError(f"unknown lookup {key!r}")
    return f"(SELECT NULLIF(current_setting('app.lookup_{key}', true), ''))"


def looked_up_token() -> str:
    """The token hash being looked up, as bytea (tokens travel as the hex of their SHA-256)."""
    return f"decode({lookup('token')}, 'hex')"


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


def tenant_rls(table: str) -> list[str]:
    """RLS ENABLE + FORCE and the tenant policy for a tenant-owned table."""
    predicate = f"tenant_id = {TENANT}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]


def party_rls(table: str, *, supplier_column: str | None, customer_column: str | None) -> list[str]:
    """A RESTRICTIVE policy: supplier and customer users reach only their own party's rows."""
    clauses = [f"{PARTY_KIND} IN ('staff', 'system')"]
    if supplier_column:
        clauses.append(f"({PARTY_KIND} = 'supplier' AND {supplier_column} = {PARTY_ID})")
    if customer_column:
        clauses.append(f"({PARTY_KIND} = 'customer' AND {customer_column} = {PARTY_ID})")
    predicate = " OR ".join(clauses)
    return [f"CREATE POLICY party_scope ON {table} AS RESTRICTIVE USING ({predicate}) WITH CHECK ({predicate})"]


def staff_writes_rls(table: str, commands: tuple[str, ...] = ("INSERT", "UPDATE", "DELETE")) -> list[str]:
    """RESTRICTIVE policies: only staff and platform code may run these commands on the table, for
    rows every party of the tenant may read (a category tree) or add (an uploaded document)."""
    staff = f"{PARTY_KIND} IN ('staff', 'system')"
    clauses = {
        "INSERT": f"WITH CHECK ({staff})",
        "UPDATE": f"USING ({staff}) WITH CHECK ({staff})",
        "DELETE": f"USING ({staff})",
    }
    return [
        f"CREATE POLICY staff_{command.lower()} ON {table} AS RESTRICTIVE FOR {command} {clauses[command]}"
        for command in commands
    ]


def system_only_rls(table: str) -> list[str]:
    """A RESTRICTIVE policy: only platform code (login, tickets) may touch these rows, never a
    request acting for a user, whatever that user's party."""
    predicate = f"{PARTY_KIND} = 'system'"
    return [f"CREATE POLICY system_only ON {table} AS RESTRICTIVE USING ({predicate}) WITH CHECK ({predicate})"]


def trail_rls(table: str) -> list[str]:
    """For an append-only trail: only staff (and platform code) read it; a supplier's or
    customer's people may add rows, but only rows naming themselves as the actor."""
    staff = f"{PARTY_KIND} IN ('staff', 'system')"
    return [
        f"CREATE POLICY party_scope ON {table} AS RESTRICTIVE FOR SELECT USING ({staff})",
        f"CREATE POLICY own_actions ON {table} AS RESTRICTIVE FOR INSERT"
        f" WITH CHECK ({staff} OR identity_id = {IDENTITY})",
    ]


def own_kind_rls(table: str, column: str = "actor_kind") -> list[str]:
    """A RESTRICTIVE policy for a trail a party may add to: the kind of actor a party's row names is
    its own (a supplier's person cannot record what "staff" did)."""
    staff = f"{PARTY_KIND} IN ('staff', 'system')"
    return [
        f"CREATE POLICY own_kind ON {table} AS RESTRICTIVE FOR INSERT WITH CHECK ({staff} OR {column} = {PARTY_KIND})"
    ]


def relay_rls(table: str) -> list[str]:
    """Let the relay role see and update this table's rows in every tenant."""
    return [f"CREATE POLICY relay_sweep ON {table} TO {RELAY_ROLE} USING (true) WITH CHECK (true)"]


def own_rows_policy(table: str, *, identity_column: str) -> list[str]:
    """Let an identity read its own rows across tenants, only outside any tenant (the apex chooser)."""
    predicate = f"{TENANT} IS NULL AND {identity_column} = {IDENTITY}"
    return [f"CREATE POLICY own_rows ON {table} FOR SELECT USING ({predicate})"]


# What a supplier's or customer's people may never decide, even on their own party's rows: one
# trigger function for every table, told by its trigger's arguments which columns are staff's.
STAFF_DECISIONS = "keep_staff_decisions"


def staff_decisions_function() -> list[str]:
    """The trigger function behind staff_decided_columns.

    Each argument names a column; "column=value" also names the value a party's new row starts
    with (a bare name: it starts empty). Outside the staff and system contexts an UPDATE may not
    change these columns and an INSERT may not set them to anything but their start. Rows are
    compared as JSON so that one function serves every table and column type.
    """
    return [
        f"""CREATE FUNCTION {STAFF_DECISIONS}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb;
    spec text;
    name text;
    start text;
BEGIN
    IF coalesce({PARTY_KIND}, '') IN ('staff', 'system') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
    END IF;
    FOREACH spec IN ARRAY TG_ARGV LOOP
        name := split_part(spec, '=', 1);
        IF NOT new_row ? name THEN
            RAISE EXCEPTION '{STAFF_DECISIONS}: % has no column %', TG_TABLE_NAME, name;
        END IF;
        start := CASE WHEN strpos(spec, '=') > 0 THEN substr(spec, strpos(spec, '=') + 1) END;
        IF (TG_OP = 'UPDATE' AND new_row -> name IS DISTINCT FROM old_row -> name)
           OR (TG_OP = 'INSERT' AND new_row ->> name IS DISTINCT FROM start) THEN
            RAISE EXCEPTION 'permission denied: only staff decide %.%', TG_TABLE_NAME, name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$"""
    ]


def staff_decided_columns(table: str, columns: tuple[str, ...], *, on: tuple[str, ...] = ("UPDATE",)) -> list[str]:
    """A trigger keeping these columns of the table staff's to decide (see staff_decisions_function):
    `on` UPDATE where a party may edit its other columns, INSERT where it may add rows that must
    start in their initial state ("status=pending")."""
    arguments = ", ".join(_literal(column) for column in columns)
    return [
        f"CREATE TRIGGER staff_decisions BEFORE {' OR '.join(on)} ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION {STAFF_DECISIONS}({arguments})"
    ]
