"""The catalog probe: what each kind of context sees and may write in every table, compared with a
reviewed expectation per table.

The catalog lint reads the policies; this probe tries them. As staff, the platform (system),
each of two suppliers, each of two customers, in both demo tenants, and with no context at all, it
counts the rows visible in every table of the catalog (tenant tables and global ones) and tries an
INSERT (a copy of a row, re-pointed at the context's own tenant, party and person), an UPDATE and a
DELETE of everything, each in a savepoint rolled back at once. A table in the catalog without an
entry below fails, and so does an entry for a table that no longer exists: adding a table is
adding its line here, after deciding what each kind may do with it.

A cell reads "<rows seen> <commands>": rows seen are `all` (every row of the tenant; of the table,
for a global table), `own` (the rows of the context's own supplier or customer) or `-` (none); the
commands I, U and D say that INSERT gets through and that UPDATE and DELETE reach exactly the rows
seen. Which columns a party may change in a row it may update is the business of
test_party_walls.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData, DemoTenant
from backend.kit.ids import new_id
from tenants.context import NO_CONTEXT
from tenants.isolation import Database
from tests.fixtures.sessions import SessionRows
from tests.fixtures.workflow import WorkflowRows
from tests.isolation import catalog
from tests.isolation.probe import PATHS, Prober, Runner, copy, insert_copy, probers, row_of


class Expect(NamedTuple):
    staff: str
    system: str
    supplier: str
    customer: str
    nobody: str  # no context at all: no tenant, no party, no person


EXPECTED: dict[str, Expect] = {
    # tenant tables                       staff       system      supplier    customer    no context
    "account_tokens": Expect(              "-",        "all IUD",  "-",        "-",        "-"),
    "audit_events": Expect(                "all I",    "all I",    "- I",      "- I",      "-"),
    "counters": Expect(                    "all IUD",  "all IUD",  "-",        "-",        "-"),
    "customers": Expect(                   "all IUD",  "all IUD",  "-",        "own U",    "-"),
    "document_requirements": Expect(       "all IUD",  "all IUD",  "all",      "all",      "-"),
    "documents": Expect(                   "all IUD",  "all IUD",  "own",      "own",      "-"),
    "items": Expect(                       "all IUD",  "all IUD",  "all",      "all",      "-"),
    "login_tickets": Expect(               "-",        "all IUD",  "-",        "-",        "-"),
    "memberships": Expect(                 "all IUD",  "all IUD",  "own",      "own",      "-"),
    "notifications": Expect(               "all IUD",  "all IUD",  "own U",    "own U",    "-"),
    "outbox": Expect(                      "all IU",   "all IU",   "-",        "-",        "-"),
    "outgoing_mail": Expect(               "all IU",   "all IU",   "-",        "-",        "-"),
    "stripe_events": Expect(               "-",        "all IU",   "-",        "-",        "-"),
    "supplier_bank_accounts": Expect(      "all IU",   "all IU",   "own I",    "-",        "-"),
    "supplier_categories": Expect(         "all IUD",  "all IUD",  "all",      "all",      "-"),
    "supplier_change_requests": Expect(    "all IU",   "all IU",   "own I",    "-",        "-"),
    "supplier_contacts": Expect(           "all IUD",  "all IUD",  "own IUD",  "-",        "-"),
    "supplier_documents": Expect(          "all IUD",  "all IUD",  "own I",    "-",        "-"),
    "supplier_qualifications": Expect(     "all IUD",  "all IUD",  "own",      "-",        "-"),
    "supplier_registrations": Expect(      "all IU",   "all IU",   "own",      "-",        "-"),
    "supplier_terms": Expect(              "all I",    "all I",    "all",      "all",      "-"),
    "suppliers": Expect(                   "all IUD",  "all IUD",  "own U",    "-",        "-"),
    "web_sessions": Expect(                "-",        "all IUD",  "-",        "-",        "-"),
    # global tables, as they are until the global tables get walls of their own
    "alembic_version": Expect(             "-",        "-",        "-",        "-",        "-"),
    "apex_sessions": Expect(               "all IUD",  "all IUD",  "all IUD",  "all IUD",  "all IUD"),
    "identities": Expect(                  "all IU",   "all IU",   "all IU",   "all IU",   "all IU"),
    "login_failures": Expect(              "all ID",   "all ID",   "all ID",   "all ID",   "all ID"),
    "tenants": Expect(                     "all IU",   "all IU",   "all IU",   "all IU",   "all IU"),
}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    seen: str  # all, own, -
    commands: frozenset[str]

    @classmethod
    def of(cls, spec: str) -> Cell:
        seen, _, commands = spec.partition(" ")
        assert seen in ("all", "own", "-"), spec
        assert set(commands) <= set("IUD"), spec
        return cls(seen, frozenset(commands))


@dataclass
class World:
    tenant_tables: list[str]
    global_tables: list[str]
    columns: dict[str, set[str]]
    first_key: dict[str, str]  # the first column of each table's primary key
    # (table, prober name) -> rows it should see as `all` and as `own`, and the row it inserts
    all_rows: dict[tuple[str, str], int]
    own_rows: dict[tuple[str, str], int]
    insert: dict[tuple[str, str], str]

    @property
    def tables(self) -> list[str]:
        return sorted(self.tenant_tables + self.global_tables)


@pytest.fixture(scope="module")
async def global_rows(owner_engine: AsyncEngine, demo: DemoData) -> AsyncIterator[None]:
    """An apex session and a failed login, so that every global table has a row to see."""
    session_id, failure_id = new_id(), new_id()
    async with owner_engine.begin() as owner:
        await owner.execute(
            text(
                "INSERT INTO apex_sessions (id, token_hash, identity_id, expires_at)"
                " VALUES (:id, :hash, :identity, now() + interval '1 hour')"
            ),
            {"id": session_id, "hash": new_id().bytes * 2, "identity": demo.acme.identity("buyer")},
        )
        await owner.execute(
            text("INSERT INTO login_failures (id, email) VALUES (:id, 'probe@example.com')"), {"id": failure_id}
        )
    yield
    async with owner_engine.begin() as owner:
        await owner.execute(text("DELETE FROM apex_sessions WHERE id = :id"), {"id": session_id})
        await owner.execute(text("DELETE FROM login_failures WHERE id = :id"), {"id": failure_id})


@pytest.fixture(scope="module")
async def world(
    owner_engine: AsyncEngine,
    demo: DemoData,
    session_rows: SessionRows,
    workflow_rows: WorkflowRows,
    global_rows: None,
) -> World:
    async with owner_engine.connect() as owner:
        tenant_tables = await catalog.tenant_tables(owner)
        global_tables = sorted(
            (
                await owner.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> ALL(:tenant)"
                    ),
                    {"tenant": tenant_tables},
                )
            ).scalars()
        )
        columns: dict[str, set[str]] = {}
        first_key: dict[str, str] = {}
        for table, column, key_position in await owner.execute(
            text(
                "SELECT c.relname, a.attname, array_position(i.indkey::int2[], a.attnum)"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                " LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary WHERE c.relkind IN ('r', 'p')"
            )
        ):
            columns.setdefault(table, set()).add(column)
            if key_position == 0:
                first_key[table] = column
        world = World(tenant_tables, global_tables, columns, first_key, {}, {}, {})
        for tenant in demo.tenants.values():
            for prober in [*probers(tenant), Prober("no context", "nobody", NO_CONTEXT)]:
                for table in world.tables:
                    await _prepare(owner, world, tenant, prober, table)
    return world


async def _prepare(owner: Any, world: World, tenant: DemoTenant, prober: Prober, table: str) -> None:
    """What the prober should see of the table, and the row it tries to insert."""
    key = (table, prober.name)
    context = prober.context
    if table in world.global_tables:
        world.all_rows[key] = int(await owner.scalar(text(f"SELECT count(*) FROM {table}")))
        row = await row_of(owner, table)
        world.insert[key] = copy(row) if row else "{}"
        return
    world.all_rows[key] = int(
        await owner.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant.id})
    )
    party = prober.party_column(table, world.columns[table])
    if party:
        world.own_rows[key] = int(
            await owner.scalar(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t AND {party} = :p"),
                {"t": tenant.id, "p": context.party_id},
            )
        )
    # a row of the tenant (the party's own where there is one), made the context's own: its
    # tenant, its party, its person (a party may add rows naming itself only)
    if party:
        row = await row_of(
            owner, table, "tenant_id = :t", f"{party} = :p DESC NULLS LAST", t=tenant.id, p=context.party_id
        )
    else:
        row = await row_of(owner, table, "tenant_id = :t", t=tenant.id)
    assert row is not None, f"{table} has no row in {tenant.slug}"
    changes: dict[str, Any] = {"tenant_id": context.tenant_id or tenant.id}
    if party and party != "id":
        changes[party] = context.party_id
    # who acts, where the table says so: a party may add rows naming itself only
    if "identity_id" in world.columns[table] and context.identity_id:
        changes["identity_id"] = context.identity_id
    if "actor_kind" in world.columns[table] and context.party_kind:
        changes["actor_kind"] = context.party_kind.value
    world.insert[key] = copy(row, **changes)


async def probe(runner: Runner, world: World, prober: Prober, table: str) -> list[str]:
    """Each way the table's cell for this prober is not what it sees and does."""
    key = (table, prober.name)
    cell = Cell.of(getattr(EXPECTED[table], prober.kind))
    if cell.seen == "own" and key not in world.own_rows:
        return [f"{table}: `own` for {prober.name}, but the table has no column for its party"]
    rows = {"all": world.all_rows[key], "own": world.own_rows.get(key, 0), "-": 0}[cell.seen]
    wrong = []
    seen = await runner.count(f"SELECT count(*) FROM {table}")
    if not (seen.rows == rows and not seen.state if rows else seen.nothing()):
        wrong.append(f"sees {seen}, expected {rows} rows ({cell.seen})")
    inserted = await runner.execute(insert_copy(table), row=world.insert[key])
    if not (inserted.got_through if "I" in cell.commands else inserted.refused):
        wrong.append(f"INSERT gave {inserted}, expected it {'through' if 'I' in cell.commands else 'refused'}")
    column = world.first_key[table]
    for command, sql in (("UPDATE", f"UPDATE {table} SET {column} = {column}"), ("DELETE", f"DELETE FROM {table}")):
        outcome = await runner.execute(sql)
        allowed = command[0] in cell.commands and rows > 0
        if not (outcome.reached(rows) if allowed else outcome.nothing()):
            wrong.append(f"{command} gave {outcome}, expected {rows if allowed else 'no'} rows reached")
    return [f"{table}: {prober.name} {problem}" for problem in wrong]


def test_every_table_of_the_catalog_is_reviewed(world: World) -> None:
    unreviewed = sorted(set(world.tables) - set(EXPECTED))
    gone = sorted(set(EXPECTED) - set(world.tables))
    assert not unreviewed, f"tables nobody decided about: add a line to EXPECTED for {unreviewed}"
    assert not gone, f"EXPECTED names tables that do not exist (any more): {gone}"
    # and a tenant table is never readable without a tenant
    assert [table for table in world.tenant_tables if EXPECTED[table].nobody != "-"] == []


def test_the_probe_has_rows_to_tell_the_answers_apart(world: World, demo: DemoData) -> None:
    """Every table has rows where the probe looks; where a kind sees only its own rows, both of its
    parties have some and neither has all, so `own`, `all` and `-` each give another count."""
    missing = []
    for tenant in demo.tenants.values():
        for prober in probers(tenant):
            for table in world.tables:
                key = (table, prober.name)
                if not world.all_rows[key]:
                    missing.append(f"{table} has no rows for {prober.name}")
                if getattr(EXPECTED[table], prober.kind).startswith("own") and not (
                    0 < world.own_rows.get(key, 0) < world.all_rows[key]
                ):
                    missing.append(
                        f"{table}: {prober.name} owns {world.own_rows.get(key)} of {world.all_rows[key]} rows"
                    )
    assert not missing, "add fixture rows (tests/fixtures/workflow.py):\n" + "\n".join(missing)


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_each_kind_sees_and_writes_what_its_table_entry_says(
    path: str, db: Database, world: World, demo: DemoData
) -> None:
    wrong: list[str] = []
    everyone = [prober for tenant in demo.tenants.values() for prober in probers(tenant)]
    for prober in [*everyone, Prober("no context", "nobody", NO_CONTEXT)]:
        async with PATHS[path](db, prober.context) as runner:
            for table in world.tables:
                wrong += await probe(runner, world, prober, table)
    assert not wrong, f"through {path}:\n" + "\n".join(wrong)
