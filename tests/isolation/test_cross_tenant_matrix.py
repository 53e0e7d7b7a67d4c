"""The raw-SQL cross-tenant matrix: every tenant table found in the catalog, attacked as the app role.

Raw SQL on purpose: repositories add their own tenant and party filters, and this suite proves the
database holds the wall when those filters are wrong or missing. The tables come from the catalog
(tests/isolation/catalog.py), so a new tenant table is in the matrix the day it is migrated, and
the matrix fails until fixtures put rows for both tenants in it.

The attacks run as every kind of context (staff, the platform, each of two suppliers and two
customers) through both ways the app opens a transaction: the ORM session of Database.transaction
and the bare asyncpg connection of Database.read; party contexts also aim at the other party's rows
of their own tenant.

Where the app role lacks a privilege on purpose (UPDATE and DELETE on the append-only audit trail,
DELETE on the outbox), the database answers "permission denied" instead of reaching zero rows: that
is the wall holding too. Which privileges the app role has is read from the catalog per table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import pytest
from sqlalchemy import CursorResult, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from backend.dev.demo import DemoData, DemoTenant
from backend.kit.db import APP_ROLE, RELAY_ROLE, make_engine
from backend.kit.ids import new_id
from tenants.context import NO_CONTEXT, PartyKind, TenantContext
from tenants.isolation import Database
from tests.fixtures.sessions import SessionRows
from tests.fixtures.transactions import rolled_back
from tests.fixtures.workflow import WorkflowRows
from tests.isolation import catalog
from tests.isolation.probe import PATHS, Prober, copy, insert_copy, probers, row_of

# insufficient_privilege, raised both for "new row violates row-level security policy" and for
# "permission denied for table": the messages tell the two apart.
RLS_VIOLATION = "42501"
RLS_MESSAGE = "row-level security"
DENIED_MESSAGE = "permission denied"


async def rowcount(session: AsyncSession, sql: str, **params: object) -> int:
    """Rows an UPDATE or DELETE reached."""
    result = cast(CursorResult[Any], await session.execute(text(sql), params))
    return result.rowcount


async def rejected_with(db: Database, context: TenantContext, sql: str, params: dict[str, object]) -> str | None:
    """The SQLSTATE a statement fails with in its own transaction, or None if it succeeded."""
    outcome = await attempt(db, context, sql, params)
    return outcome.state


@dataclass(frozen=True)
class Outcome:
    rows: int  # rows reached (UPDATE, DELETE) when it succeeded
    state: str | None = None  # SQLSTATE when it failed
    message: str = ""

    def denied(self) -> bool:
        return self.state == RLS_VIOLATION and DENIED_MESSAGE in self.message

    def rls_violation(self) -> bool:
        return self.state == RLS_VIOLATION and RLS_MESSAGE in self.message

    def __str__(self) -> str:
        return f"{self.state}: {self.message.splitlines()[0]}" if self.state else f"success ({self.rows} rows)"


async def attempt(db: Database, context: TenantContext, sql: str, params: dict[str, object] | None = None) -> Outcome:
    """Run one statement in its own rolled-back transaction (a failure aborts the transaction)."""
    try:
        async with rolled_back(db, context) as session:
            result = cast(CursorResult[Any], await session.execute(text(sql), params or {}))
            rows = result.rowcount
    except DBAPIError as error:
        return Outcome(rows=0, state=getattr(error.orig, "sqlstate", None), message=str(error.orig))
    return Outcome(rows=rows)


@dataclass(frozen=True)
class Matrix:
    tables: list[str]
    columns: dict[str, set[str]]
    counts: dict[str, dict[UUID, int]]  # table -> tenant id -> rows, as the owner sees them
    app_may: dict[str, set[str]]  # table -> what merkato_app may do there (SELECT, INSERT, UPDATE, DELETE)

    def require_rows(self, *tenants: DemoTenant) -> None:
        empty = [
            f"{table} has no rows for tenant {tenant.slug}"
            for table in self.tables
            for tenant in tenants
            if not self.counts[table].get(tenant.id)
        ]
        assert not empty, (
            "the cross-tenant matrix needs rows for both tenants in every tenant table; add fixture rows "
            "(backend/dev/demo.py or tests/fixtures/) for: " + "; ".join(empty)
        )


@pytest.fixture(scope="module")
async def matrix(
    owner_engine: AsyncEngine, demo: DemoData, session_rows: SessionRows, workflow_rows: WorkflowRows
) -> Matrix:
    async with owner_engine.connect() as owner:
        tables = await catalog.tenant_tables(owner)
        columns: dict[str, set[str]] = {}
        counts: dict[str, dict[UUID, int]] = {}
        app_may: dict[str, set[str]] = {}
        for table in tables:
            app_may[table] = set(
                (
                    await owner.execute(
                        text(
                            "SELECT priv FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS priv"
                            " WHERE has_table_privilege(:role, CAST(:t AS regclass), priv)"
                        ),
                        {"role": APP_ROLE, "t": table},
                    )
                ).scalars()
            )
            columns[table] = set(
                (
                    await owner.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns"
                            " WHERE table_schema = 'public' AND table_name = :t"
                        ),
                        {"t": table},
                    )
                ).scalars()
            )
            rows = await owner.execute(text(f"SELECT tenant_id, count(*) FROM {table} GROUP BY tenant_id"))
            counts[table] = dict(rows.tuples().all())
    return Matrix(tables=tables, columns=columns, counts=counts, app_may=app_may)


def _pairs(demo: DemoData) -> list[tuple[DemoTenant, DemoTenant]]:
    # both directions: a wall that only holds one way is not a wall
    return [(demo.acme, demo.globex), (demo.globex, demo.acme)]


async def test_every_tenant_table_has_rows_for_both_tenants(matrix: Matrix, demo: DemoData) -> None:
    assert len(matrix.tables) >= 7
    matrix.require_rows(demo.acme, demo.globex)


async def test_reads_see_only_the_own_tenant(db: Database, matrix: Matrix, demo: DemoData) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    leaks: list[str] = []
    for me, other in _pairs(demo):
        async with rolled_back(db, TenantContext.system(me.id)) as session:
            for table in matrix.tables:
                targeted = await session.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE tenant_id = :other"), {"other": other.id}
                )
                total, foreign = (
                    await session.execute(
                        text(f"SELECT count(*), count(*) FILTER (WHERE tenant_id <> :me) FROM {table}"), {"me": me.id}
                    )
                ).one()
                if targeted or foreign:
                    leaks.append(f"{table}: {me.slug} reads {targeted or foreign} rows of {other.slug}")
                # and the wall is not "no rows at all": every own row is there
                if total != matrix.counts[table][me.id]:
                    leaks.append(f"{table}: {me.slug} sees {total} own rows, owner sees {matrix.counts[table][me.id]}")
    assert not leaks, "\n" + "\n".join(leaks)


async def test_updates_and_deletes_miss_the_other_tenant(db: Database, matrix: Matrix, demo: DemoData) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    leaks: list[str] = []
    for me, other in _pairs(demo):
        context = TenantContext.system(me.id)
        for table in matrix.tables:
            for verb, sql in (
                ("UPDATE", f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :tenant"),
                ("DELETE", f"DELETE FROM {table} WHERE tenant_id = :tenant"),
            ):
                theirs = await attempt(db, context, sql, {"tenant": other.id})
                if verb not in matrix.app_may[table]:
                    # withheld from the app role: refused outright, before any row is looked at
                    if not theirs.denied():
                        leaks.append(f"{table}: {verb} is not granted to the app role, yet gave {theirs}")
                elif theirs.state or theirs.rows:
                    leaks.append(f"{table}: {me.slug} {verb} on {other.slug} rows gave {theirs}")
            if "UPDATE" in matrix.app_may[table]:
                # control: the same UPDATE reaches every own row, so the zero above is the wall at
                # work and not a statement that matches nothing
                own = await attempt(
                    db, context, f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :me", {"me": me.id}
                )
                if own.state or own.rows != matrix.counts[table][me.id]:
                    leaks.append(f"{table}: {me.slug} updating its {matrix.counts[table][me.id]} own rows gave {own}")
    assert not leaks, "\n" + "\n".join(leaks)


async def _copy_of_a_row(owner_engine: AsyncEngine, table: str, tenant_id: UUID) -> str:
    """One row of the tenant as JSON (read as the owner), with a fresh id so only RLS can object."""
    async with owner_engine.connect() as owner:
        row = await row_of(owner, table, "tenant_id = :t", t=tenant_id)
    assert row is not None, f"{table} has no row for tenant {tenant_id}"
    return copy(row)


async def test_inserting_a_copy_of_another_tenants_row_is_rejected(
    db: Database, owner_engine: AsyncEngine, matrix: Matrix, demo: DemoData
) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    wrong: list[str] = []
    for me, other in _pairs(demo):
        for table in matrix.tables:
            row = await _copy_of_a_row(owner_engine, table, other.id)
            state = await rejected_with(db, TenantContext.system(me.id), insert_copy(table), {"row": row})
            if state != RLS_VIOLATION:
                wrong.append(f"{table}: {me.slug} inserting a {other.slug} row gave {state or 'success'}")
    assert not wrong, "\n" + "\n".join(wrong)


async def test_moving_a_row_to_another_tenant_is_rejected(db: Database, matrix: Matrix, demo: DemoData) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    wrong: list[str] = []
    for me, other in _pairs(demo):
        for table in matrix.tables:
            outcome = await attempt(
                db,
                TenantContext.system(me.id),
                f"UPDATE {table} SET tenant_id = :other WHERE tenant_id = :me",
                {"me": me.id, "other": other.id},
            )
            held = outcome.rls_violation() if "UPDATE" in matrix.app_may[table] else outcome.denied()
            if not held:
                wrong.append(f"{table}: moving {me.slug} rows to {other.slug} gave {outcome}")
    assert not wrong, "\n" + "\n".join(wrong)


# Contexts that name no tenant, or a tenant that does not exist: none may see or write anything.
TENANTLESS = {
    "no context": NO_CONTEXT,
    "system without tenant": TenantContext.system(None),
    "staff without tenant": TenantContext(tenant_id=None, party_kind=PartyKind.STAFF),
}


@pytest.mark.parametrize("name", sorted(TENANTLESS))
async def test_without_a_tenant_nothing_is_visible_or_writable(
    name: str, db: Database, owner_engine: AsyncEngine, matrix: Matrix, demo: DemoData
) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    context = TENANTLESS[name]
    leaks: list[str] = []
    async with rolled_back(db, context) as session:
        for table in matrix.tables:
            if count := await session.scalar(text(f"SELECT count(*) FROM {table}")):
                leaks.append(f"{table}: {count} rows visible")
    for table in matrix.tables:
        for verb, sql in (("UPDATE", f"UPDATE {table} SET tenant_id = tenant_id"), ("DELETE", f"DELETE FROM {table}")):
            outcome = await attempt(db, context, sql)
            held = not (outcome.state or outcome.rows) if verb in matrix.app_may[table] else outcome.denied()
            if not held:
                leaks.append(f"{table}: {verb} gave {outcome}")
        row = await _copy_of_a_row(owner_engine, table, demo.acme.id)
        state = await rejected_with(db, context, insert_copy(table), {"row": row})
        if state != RLS_VIOLATION:
            leaks.append(f"{table}: inserting an acme row gave {state or 'success'}")
    assert not leaks, name + ":\n" + "\n".join(leaks)


async def test_an_unknown_tenant_sees_nothing(db: Database, matrix: Matrix, demo: DemoData) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    async with rolled_back(db, TenantContext.system(new_id())) as session:
        counts = {table: await session.scalar(text(f"SELECT count(*) FROM {table}")) for table in matrix.tables}
    assert counts == dict.fromkeys(matrix.tables, 0)


# --- the relay role and the append-only trail -------------------------------------------------


@pytest.fixture(scope="module")
async def relay_db(owner_url: str) -> AsyncIterator[Database]:
    """Connections as merkato_relay, made the way the worker runtime makes them."""
    database = Database(make_engine(owner_url, role=RELAY_ROLE, pool_size=1))
    yield database
    await database.dispose()


async def test_the_relay_sees_every_tenants_outbox_and_nothing_else(
    relay_db: Database, matrix: Matrix, demo: DemoData
) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    sweeping = TenantContext.system(None)  # the relay's own context: no tenant, the system party
    async with rolled_back(relay_db, sweeping) as session:
        assert await session.scalar(text("SELECT current_user")) == RELAY_ROLE
        seen = dict((await session.execute(text("SELECT tenant_id, count(*) FROM outbox GROUP BY 1"))).tuples().all())
    assert seen == matrix.counts["outbox"]
    assert seen.get(demo.acme.id)
    assert seen.get(demo.globex.id)
    # jobs are never deleted, not even by the relay
    assert (await attempt(relay_db, sweeping, "DELETE FROM outbox")).denied()
    refused = {
        table: await attempt(relay_db, sweeping, f"SELECT count(*) FROM {table}")
        for table in matrix.tables
        if table != "outbox"
    }
    opened = {table: str(outcome) for table, outcome in refused.items() if not outcome.denied()}
    assert not opened, opened
    # the party wall of the outbox binds the relay too: without the system party it sees nothing
    async with rolled_back(relay_db, NO_CONTEXT) as session:
        assert await session.scalar(text("SELECT count(*) FROM outbox")) == 0


async def test_the_audit_trail_is_append_only(db: Database, matrix: Matrix, demo: DemoData) -> None:
    matrix.require_rows(demo.acme, demo.globex)
    context = TenantContext.system(demo.acme.id)
    # the app role writes and reads its tenant's trail ...
    async with rolled_back(db, context) as session:
        await session.execute(
            text(
                "INSERT INTO audit_events (tenant_id, id, actor_kind, action, changes)"
                " VALUES (:tenant, :id, 'system', 'matrix.append', '{}')"
            ),
            {"tenant": demo.acme.id, "id": new_id()},
        )
        assert (
            await session.scalar(text("SELECT count(*) FROM audit_events"))
            == matrix.counts["audit_events"][demo.acme.id] + 1
        )
    # ... and can neither rewrite nor erase it, not even its own tenant's rows
    rewrite = await attempt(
        db, context, "UPDATE audit_events SET action = 'rewritten' WHERE tenant_id = :t", {"t": demo.acme.id}
    )
    erase = await attempt(db, context, "DELETE FROM audit_events WHERE tenant_id = :t", {"t": demo.acme.id})
    assert rewrite.denied(), rewrite
    assert erase.denied(), erase


# --- party walls ----------------------------------------------------------------------------------


async def _ids(session: AsyncSession, sql: str, **params: object) -> set[UUID]:
    return set((await session.execute(text(sql), params)).scalars())


async def _owner_ids(owner_engine: AsyncEngine, sql: str, **params: object) -> set[UUID]:
    async with owner_engine.connect() as owner:
        return set((await owner.execute(text(sql), params)).scalars())


@pytest.mark.parametrize("slug", ["acme", "globex"])
@pytest.mark.parametrize("position", [0, 1])
async def test_a_supplier_user_sees_only_its_supplier(
    slug: str, position: int, db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    tenant = demo.tenants[slug]
    supplier_id = tenant.supplier_ids[position]
    own_memberships = await _owner_ids(
        owner_engine, "SELECT id FROM memberships WHERE tenant_id = :t AND supplier_id = :s", t=tenant.id, s=supplier_id
    )
    assert tenant.membership("supplier2" if position else "supplier") in own_memberships
    context = TenantContext(tenant_id=tenant.id, party_kind=PartyKind.SUPPLIER, party_id=supplier_id)
    async with rolled_back(db, context) as session:
        assert await _ids(session, "SELECT id FROM suppliers") == {supplier_id}
        assert await _ids(session, "SELECT id FROM customers") == set()
        assert await _ids(session, "SELECT id FROM memberships") == own_memberships
        # writes stay inside the party too
        assert await rowcount(session, "UPDATE suppliers SET name = name") == 1
        assert await rowcount(session, "UPDATE customers SET name = name") == 0
    # their own memberships only through an admin of the party (0010), and this context names none
    assert await rejected_with(db, context, "UPDATE memberships SET active = active", {}) == RLS_VIOLATION
    # another supplier of the same tenant cannot be created or claimed from inside this party
    row = await _copy_of_a_row(owner_engine, "suppliers", tenant.id)
    assert await rejected_with(db, context, insert_copy("suppliers"), {"row": row}) == RLS_VIOLATION


@pytest.mark.parametrize("slug", ["acme", "globex"])
@pytest.mark.parametrize("position", [0, 1])
async def test_a_customer_user_sees_only_its_customer(
    slug: str, position: int, db: Database, owner_engine: AsyncEngine, demo: DemoData
) -> None:
    tenant = demo.tenants[slug]
    customer_id = tenant.customer_ids[position]
    own_memberships = await _owner_ids(
        owner_engine, "SELECT id FROM memberships WHERE tenant_id = :t AND customer_id = :c", t=tenant.id, c=customer_id
    )
    assert tenant.membership("customer2" if position else "customer") in own_memberships
    context = TenantContext(tenant_id=tenant.id, party_kind=PartyKind.CUSTOMER, party_id=customer_id)
    async with rolled_back(db, context) as session:
        assert await _ids(session, "SELECT id FROM customers") == {customer_id}
        assert await _ids(session, "SELECT id FROM suppliers") == set()
        assert await _ids(session, "SELECT id FROM memberships") == own_memberships
        assert await rowcount(session, "UPDATE customers SET name = name") == 1
        assert await rowcount(session, "UPDATE suppliers SET name = name") == 0
    row = await _copy_of_a_row(owner_engine, "customers", tenant.id)
    assert await rejected_with(db, context, insert_copy("customers"), {"row": row}) == RLS_VIOLATION


async def test_a_party_id_from_another_tenant_opens_nothing(db: Database, demo: DemoData) -> None:
    # acme's host with globex's supplier id (a forged or stale party): neither tenant's party shows
    for party_kind, table, party_id in (
        (PartyKind.SUPPLIER, "suppliers", demo.globex.supplier_ids[0]),
        (PartyKind.CUSTOMER, "customers", demo.globex.customer_ids[0]),
    ):
        context = TenantContext(tenant_id=demo.acme.id, party_kind=party_kind, party_id=party_id)
        async with rolled_back(db, context) as session:
            assert await _ids(session, f"SELECT id FROM {table}") == set()
            assert await _ids(session, "SELECT id FROM memberships") == set()


@pytest.mark.parametrize("party_kind", [None, PartyKind.SUPPLIER, PartyKind.CUSTOMER])
async def test_a_party_context_without_party_id_sees_no_party_rows(
    party_kind: PartyKind | None, db: Database, demo: DemoData
) -> None:
    # None is the anonymous request on a tenant host (backend/dependencies.py)
    context = TenantContext(tenant_id=demo.acme.id, party_kind=party_kind)
    async with rolled_back(db, context) as session:
        for table in ("suppliers", "customers", "memberships"):
            assert await _ids(session, f"SELECT id FROM {table}") == set(), table


async def test_the_apex_sees_only_the_identitys_own_memberships(
    db: Database, owner_engine: AsyncEngine, matrix: Matrix, demo: DemoData
) -> None:
    """On the apex (no tenant) an identity lists its own memberships across tenants and nothing else."""
    identity_id = demo.acme.identity("supplier")
    expected = await _owner_ids(owner_engine, "SELECT id FROM memberships WHERE identity_id = :i", i=identity_id)
    assert demo.acme.membership("supplier") in expected  # (other modules may add memberships elsewhere)
    async with rolled_back(db, TenantContext.system(None, identity_id=identity_id)) as session:
        assert await _ids(session, "SELECT id FROM memberships") == expected
        others = {
            table: await session.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in matrix.tables
            if table != "memberships"
        }
        assert others == dict.fromkeys(others, 0)
        # reading is all the apex may do with them
        assert await rowcount(session, "UPDATE memberships SET active = active") == 0
    # the identity alone, without the system party kind, opens nothing (party_scope is RESTRICTIVE)
    async with rolled_back(db, TenantContext(tenant_id=None, identity_id=identity_id)) as session:
        assert await _ids(session, "SELECT id FROM memberships") == set()


# --- every kind of context, through both ways in ----------------------------------------------------


def _other_party(prober: Prober, tenant: DemoTenant) -> UUID | None:
    """The other one of the two suppliers (or customers) with portal users in the prober's tenant."""
    kind = prober.context.party_kind
    parties = tenant.supplier_ids[:2] if kind == PartyKind.SUPPLIER else tenant.customer_ids[:2]
    if kind not in (PartyKind.SUPPLIER, PartyKind.CUSTOMER):
        return None
    return next(party for party in parties if party != prober.context.party_id)


async def _attacks(
    owner: AsyncConnection, matrix: Matrix, prober: Prober, me: DemoTenant, other: DemoTenant
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(table, what, sql, params) of every attack on another tenant's and another party's rows; each
    must be refused or reach no row (statements that count rows must count none)."""
    attacks: list[tuple[str, str, str, dict[str, Any]]] = []
    for table in matrix.tables:
        theirs = {"other": other.id}
        row = await row_of(owner, table, "tenant_id = :t", t=other.id)
        assert row is not None, f"{table} has no row in {other.slug}"
        attacks += [
            (table, f"count {other.slug} rows", f"SELECT count(*) FROM {table} WHERE tenant_id = :other", theirs),
            (
                table,
                f"update {other.slug} rows",
                f"UPDATE {table} SET tenant_id = tenant_id WHERE tenant_id = :other",
                theirs,
            ),
            (table, f"delete {other.slug} rows", f"DELETE FROM {table} WHERE tenant_id = :other", theirs),
            (table, f"insert a {other.slug} row", insert_copy(table), {"row": copy(row)}),
            (table, f"move own rows to {other.slug}", f"UPDATE {table} SET tenant_id = :other", theirs),
        ]
        column = prober.party_column(table, matrix.columns[table])
        another = _other_party(prober, me)
        if column is None or another is None:
            continue
        party = {"party": another}
        # the other party's own row: for the parties themselves its id is the party
        row = await row_of(owner, table, f"tenant_id = :t AND {column} = :p", t=me.id, p=another)
        assert row is not None, f"{table} has no row of {another} in {me.slug}"
        attacks += [
            (table, "count another party's rows", f"SELECT count(*) FROM {table} WHERE {column} = :party", party),
            (
                table,
                "update another party's rows",
                f"UPDATE {table} SET tenant_id = tenant_id WHERE {column} = :party",
                party,
            ),
            (table, "delete another party's rows", f"DELETE FROM {table} WHERE {column} = :party", party),
            (
                table,
                "insert another party's row",
                insert_copy(table),
                {"row": copy(row, id=row["id"]) if column == "id" else copy(row)},
            ),
            (table, "move own rows to another party", f"UPDATE {table} SET {column} = :party", party),
        ]
    return attacks


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_no_kind_of_context_reaches_another_tenant_or_party(
    path: str, db: Database, owner_engine: AsyncEngine, matrix: Matrix, demo: DemoData
) -> None:
    """As staff, the platform and each of two suppliers and customers, in both tenants: select,
    insert, update and delete aimed at the other tenant's rows and at the other party's."""
    matrix.require_rows(demo.acme, demo.globex)
    leaks: list[str] = []
    for me, other in _pairs(demo):
        for prober in probers(me):
            async with owner_engine.connect() as owner:
                attacks = await _attacks(owner, matrix, prober, me, other)
            async with PATHS[path](db, prober.context) as runner:
                for table, what, sql, params in attacks:
                    counting = sql.startswith("SELECT")
                    outcome = await (runner.count if counting else runner.execute)(sql, **params)
                    if not outcome.nothing():
                        leaks.append(f"{table}: {prober.name} could {what}: {outcome}")
    assert not leaks, f"through {path}:\n" + "\n".join(leaks)
