"""The catalog probe: what each kind of context sees and may write in every table, compared with a
reviewed expectation per table.

The catalog lint reads the policies; this probe tries them. As staff, the platform (system),
each of two suppliers, each of two customers, in both demo tenants, and with no context at all, it
counts the rows visible in every table of the catalog (tenant tables and global ones) and tries an
INSERT (a copy of a row, re-pointed at the context's own tenant, party and person), an UPDATE and a
DELETE of everything, each in a savepoint rolled back at once. A table in the catalog without an
entry below fails, and so does an entry for a table that no longer exists: adding a table is
adding its line here, after deciding what each kind may do with it.

A cell reads "<rows seen> <commands>": rows seen are `all` (every row of the tenant), `own` (the
rows of the context's own supplier or customer), `some` (for a global table: the rows GLOBAL_ROWS
counts for the context) or `-` (none); the commands I, U and D say that INSERT gets through and
that UPDATE and DELETE reach exactly the rows seen (for a global table: the rows GLOBAL_ROWS says
it may write). Which columns a party may change in a row it may update is the business of
test_party_walls.py.

Global tables carry no tenant_id: each is readable only where the code path needs it (migration
0009), and no request context reads any of them wholesale. The probe's INSERT into one is a row
that is someone else's (another identity, another mailbox, another client, another tenant): it
must be refused everywhere.
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

# Tables whose rows a party reaches by the person who asked for them, not by a party column.
ASKED_BY_PERSON = {"outbox": "requested_by"}


class Expect(NamedTuple):
    staff: str
    system: str
    supplier: str
    customer: str
    nobody: str  # no context at all: no tenant, no party, no person


EXPECTED: dict[str, Expect] = {
    # tenant tables                       staff       system      supplier    customer    no context
    "audit_events": Expect(                "all I",    "all I",    "- I",      "- I",      "-"),
    "counters": Expect(                    "all IUD",  "all IUD",  "-",        "-",        "-"),
    "customers": Expect(                   "all IUD",  "all IUD",  "-",        "own U",    "-"),
    "document_requirements": Expect(       "all IUD",  "all IUD",  "all",      "all",      "-"),
    "documents": Expect(                   "all IUD",  "all IUD",  "own",      "own",      "-"),
    "items": Expect(                       "all IUD",  "all IUD",  "all",      "all",      "-"),
    "login_tickets": Expect(               "-",        "all IUD",  "-",        "-",        "-"),
    "memberships": Expect(                 "all IUD",  "all IUD",  "own IU",   "own",      "-"),
    "notifications": Expect(               "all IUD",  "all IUD",  "own U",    "own U",    "-"),
    "outbox": Expect(                      "all IU",   "all IU",   "own I",    "own I",    "-"),
    "outgoing_mail": Expect(               "all IU",   "all IU",   "-",        "-",        "-"),
    "stripe_events": Expect(               "-",        "all IU",   "-",        "-",        "-"),
    "supplier_bank_accounts": Expect(      "all IU",   "all IU",   "own I",    "-",        "-"),
    "supplier_categories": Expect(         "all IUD",  "all IUD",  "all",      "all",      "-"),
    "supplier_change_requests": Expect(    "all IU",   "all IU",   "own I",    "-",        "-"),
    "supplier_contacts": Expect(           "all IUD",  "all IUD",  "own IUD",  "-",        "-"),
    "supplier_documents": Expect(          "all IUD",  "all IUD",  "own I",    "-",        "-"),
    "supplier_qualifications": Expect(     "all IUD",  "all IUD",  "own I",    "-",        "-"),
    "supplier_registrations": Expect(      "all IU",   "all IU",   "own",      "-",        "-"),
    "supplier_terms": Expect(              "all I",    "all I",    "all",      "all",      "-"),
    "suppliers": Expect(                   "all IUD",  "all IUD",  "own U",    "-",        "-"),
    "web_sessions": Expect(                "-",        "all IUD",  "-",        "-",        "-"),
    # global tables                       staff       system      supplier    customer    no context
    "account_links": Expect(               "-",        "-",        "-",        "-",        "-"),
    "alembic_version": Expect(             "-",        "-",        "-",        "-",        "-"),
    "apex_sessions": Expect(               "-",        "-",        "-",        "-",        "-"),
    "credentials": Expect(                 "-",        "-",        "-",        "-",        "-"),
    "identities": Expect(                  "some U",   "some U",   "some U",   "some U",   "-"),
    "login_failures": Expect(              "-",        "-",        "-",        "-",        "-"),
    "tenants": Expect(                     "some U",   "some U",   "some",     "some",     "-"),
}  # fmt: skip


@dataclass(frozen=True)
class Cell:
    seen: str  # all, own, some, -
    commands: frozenset[str]

    @classmethod
    def of(cls, spec: str) -> Cell:
        seen, _, commands = spec.partition(" ")
        assert seen in ("all", "own", "some", "-"), spec
        assert set(commands) <= set("IUD"), spec
        return cls(seen, frozenset(commands))


class GlobalRows(NamedTuple):
    """How the owner counts the rows of a global table a context sees, and those it may update
    (parameters: :tenant, :kind, :party, :identity of the context)."""

    seen: str
    writable: str


_MEMBER_HERE = (
    "m.tenant_id = :tenant AND (:kind IN ('staff', 'system')"
    " OR (:kind = 'supplier' AND m.supplier_id = :party) OR (:kind = 'customer' AND m.customer_id = :party))"
)
GLOBAL_ROWS: dict[str, GlobalRows] = {
    # itself, and the people of its workspace it may see (a party: its colleagues); only itself to change
    "identities": GlobalRows(
        f"SELECT count(*) FROM identities i WHERE i.id = :identity"
        f" OR EXISTS (SELECT FROM memberships m WHERE m.identity_id = i.id AND {_MEMBER_HERE})",
        "SELECT count(*) FROM identities WHERE id = :identity",
    ),
    # its own tenant; staff and the platform change it (billing, settings), a party does not
    "tenants": GlobalRows(
        "SELECT count(*) FROM tenants WHERE id = :tenant",
        "SELECT count(*) FROM tenants WHERE id = :tenant AND :kind IN ('staff', 'system')",
    ),
}
# The row a context tries to insert into a global table: someone else's (the walls must refuse it).
_SOMEONE_ELSE = "00000000-0000-7000-8000-000000000001"
GLOBAL_INSERTS: dict[str, dict[str, Any]] = {
    "identities": {"email": "someone.else@probe.example", "verified_at": "2026-01-01T00:00:00+00:00"},
    "credentials": {"identity_id": None},  # filled in: another person than the context's
    "apex_sessions": {"identity_id": None},
    "account_links": {"email": "someone.else@probe.example"},
    "login_failures": {"client_address": "192.0.2.1"},
    "tenants": {"slug": "probe-someone-else"},
}


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
    writable: dict[tuple[str, str], int]

    @property
    def tables(self) -> list[str]:
        return sorted(self.tenant_tables + self.global_tables)


@pytest.fixture(scope="module")
async def global_rows(owner_engine: AsyncEngine, demo: DemoData) -> AsyncIterator[None]:
    """An apex session, a failed login and a one-time link, so that every global table has a row
    to see."""
    session_id, failure_id, link_id = new_id(), new_id(), new_id()
    async with owner_engine.begin() as owner:
        await owner.execute(
            text(
                "INSERT INTO apex_sessions (id, token_hash, identity_id, expires_at)"
                " VALUES (:id, :hash, :identity, now() + interval '1 hour')"
            ),
            {"id": session_id, "hash": new_id().bytes * 2, "identity": demo.acme.identity("buyer")},
        )
        await owner.execute(
            text(
                "INSERT INTO login_failures (id, email, client_address) VALUES (:id, 'probe@example.com', '192.0.2.9')"
            ),
            {"id": failure_id},
        )
        await owner.execute(
            text(
                "INSERT INTO account_links (id, email, purpose, token_hash, expires_at)"
                " VALUES (:id, 'probe@example.com', 'password_reset', :hash, now() + interval '1 hour')"
            ),
            {"id": link_id, "hash": new_id().bytes * 2},
        )
    yield
    async with owner_engine.begin() as owner:
        await owner.execute(text("DELETE FROM apex_sessions WHERE id = :id"), {"id": session_id})
        await owner.execute(text("DELETE FROM login_failures WHERE id = :id"), {"id": failure_id})
        await owner.execute(text("DELETE FROM account_links WHERE id = :id"), {"id": link_id})


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
        world = World(tenant_tables, global_tables, columns, first_key, {}, {}, {}, {})
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
        if table in GLOBAL_ROWS:
            params = {
                "tenant": context.tenant_id,
                "kind": context.party_kind.value if context.party_kind else "",
                "party": context.party_id,
                "identity": context.identity_id,
            }
            world.own_rows[key] = int(await owner.scalar(text(GLOBAL_ROWS[table].seen), params))
            world.writable[key] = int(await owner.scalar(text(GLOBAL_ROWS[table].writable), params))
        row = await row_of(owner, table)
        changes = dict(GLOBAL_INSERTS.get(table, {}))
        if "identity_id" in changes:  # a person other than the context's own
            other = await owner.scalar(
                text("SELECT id FROM identities WHERE id IS DISTINCT FROM :me ORDER BY id LIMIT 1"),
                {"me": context.identity_id},
            )
            changes["identity_id"] = other
        world.insert[key] = copy(row, **changes) if row else "{}"
        return
    world.all_rows[key] = int(
        await owner.scalar(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant.id})
    )
    party = prober.party_column(table, world.columns[table])
    if table in ASKED_BY_PERSON and prober.kind in ("supplier", "customer"):
        # a party's own jobs are those its person asked for, whichever party they were for
        world.own_rows[key] = int(
            await owner.scalar(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t AND {ASKED_BY_PERSON[table]} = :i"),
                {"t": tenant.id, "i": context.identity_id},
            )
        )
        row = await row_of(
            owner,
            table,
            "tenant_id = :t",
            f"{ASKED_BY_PERSON[table]} = :i DESC NULLS LAST",
            t=tenant.id,
            i=context.identity_id,
        )
        assert row is not None, f"{table} has no row in {tenant.slug}"
        world.insert[key] = copy(row, tenant_id=tenant.id)
        return
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
    if cell.seen in ("own", "some") and key not in world.own_rows:
        return [f"{table}: `{cell.seen}` for {prober.name}, but the probe cannot count its rows"]
    rows = {"all": world.all_rows[key], "own": world.own_rows.get(key, 0), "some": world.own_rows.get(key, 0), "-": 0}[
        cell.seen
    ]
    reach = world.writable.get(key, rows)
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
        allowed = command[0] in cell.commands and reach > 0
        if not (outcome.reached(reach) if allowed else outcome.nothing()):
            wrong.append(f"{command} gave {outcome}, expected {reach if allowed else 'no'} rows reached")
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
