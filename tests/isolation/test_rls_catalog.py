"""RLS catalog lint over the migrated database, and a test of the lint on deliberate mistakes.

A new table that carries tenant data but misses RLS, FORCE, a tenant-first key or foreign key,
or a new global table nobody allow-listed, fails here (see tests/isolation/catalog.py for why
each rule exists).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.kit.db import APP_ROLE, RELAY_ROLE
from tests.isolation import catalog

# Not the source of truth (the catalog is); a floor proving that discovery finds tables at all.
KNOWN_TENANT_TABLES = {"counters", "customers", "items", "suppliers", "memberships", "login_tickets", "web_sessions"}


# The policies as the migrations write them (0001, 0002), for the probe tables below.
def tenant_rls(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({catalog.TENANT_PREDICATE})"
        f" WITH CHECK ({catalog.TENANT_PREDICATE})",
    ]


def party_rls(table: str, *, supplier_column: str | None, customer_column: str | None) -> list[str]:
    clauses = [f"{catalog.PARTY_KIND} IN ('staff', 'system')"]
    if supplier_column:
        clauses.append(f"({catalog.PARTY_KIND} = 'supplier' AND {supplier_column} = {catalog.PARTY_ID})")
    if customer_column:
        clauses.append(f"({catalog.PARTY_KIND} = 'customer' AND {customer_column} = {catalog.PARTY_ID})")
    predicate = " OR ".join(clauses)
    return [f"CREATE POLICY party_scope ON {table} AS RESTRICTIVE USING ({predicate}) WITH CHECK ({predicate})"]


def relay_rls(table: str) -> list[str]:
    return [f"CREATE POLICY relay_sweep ON {table} TO {RELAY_ROLE} USING (true) WITH CHECK (true)"]


@pytest.fixture
async def owner(owner_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with owner_engine.connect() as connection:
        yield connection


async def test_tenant_tables_are_discovered(owner: AsyncConnection) -> None:
    found = set(await catalog.tenant_tables(owner))
    assert found >= KNOWN_TENANT_TABLES
    assert not found & catalog.GLOBAL_TABLES


async def test_every_tenant_table_has_forced_rls_and_a_tenant_policy(owner: AsyncConnection) -> None:
    problems = await catalog.rls_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_party_owned_tables_have_a_restrictive_party_policy(owner: AsyncConnection) -> None:
    problems = await catalog.party_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_every_key_and_unique_index_leads_with_tenant_id(owner: AsyncConnection) -> None:
    problems = await catalog.key_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_foreign_keys_between_tenant_tables_lead_with_tenant_id(owner: AsyncConnection) -> None:
    problems = await catalog.foreign_key_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_tables_without_tenant_id_are_allow_listed(owner: AsyncConnection) -> None:
    problems = await catalog.global_table_problems(owner)
    assert not problems, "\n" + "\n".join(problems)
    # and the allow-list names real tables, so it cannot quietly cover a future one
    existing = set(
        (
            await owner.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:names)"),
                {"names": sorted(catalog.GLOBAL_TABLES)},
            )
        ).scalars()
    )
    assert existing == catalog.GLOBAL_TABLES


async def test_every_global_table_has_forced_rls(owner: AsyncConnection) -> None:
    problems = await catalog.global_rls_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_no_view_without_security_invoker(owner: AsyncConnection) -> None:
    problems = await catalog.view_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_no_security_definer_function(owner: AsyncConnection) -> None:
    problems = await catalog.function_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_no_sequence_behind_tenant_tables(owner: AsyncConnection) -> None:
    problems = await catalog.sequence_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_app_role_is_powerless(owner: AsyncConnection) -> None:
    problems = await catalog.role_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_app_role_can_use_every_tenant_table(owner: AsyncConnection) -> None:
    problems = await catalog.grant_problems(owner)
    assert not problems, "\n" + "\n".join(problems)
    # and what is withheld on purpose is withheld from real tenant tables, so the list cannot
    # quietly excuse a table that does not exist yet
    assert set(catalog.WITHHELD_FROM_APP) <= set(await catalog.tenant_tables(owner))


async def test_relay_role_reaches_the_outbox_and_nothing_else(owner: AsyncConnection) -> None:
    problems = await catalog.relay_role_problems(owner)
    assert not problems, "\n" + "\n".join(problems)


async def test_only_the_relay_and_the_apex_chooser_have_other_permissive_policies(owner: AsyncConnection) -> None:
    """The lint lets two kinds of permissive policy through besides the tenant predicate itself;
    this pins down that each exists exactly where it is needed: the relay's sweep of the outbox
    (for the relay role alone) and the apex chooser's own memberships (only without a tenant)."""
    tenant = catalog.expression(catalog.TENANT_PREDICATE)
    others = [
        (policy.table, policy.name, list(policy.roles))
        for policy in await catalog.policies(owner)
        if policy.permissive and any(tree != tenant for _, tree in policy.trees())
    ]
    assert others == [("memberships", "own_rows", []), ("outbox", "relay_sweep", [RELAY_ROLE])]


def test_policy_expressions_are_compared_as_trees() -> None:
    """What pg_get_expr writes back is the same tree as what the migration said; what merely
    contains the same words is not."""
    predicate = catalog.expression(catalog.TENANT_PREDICATE)
    deparsed = (
        "(tenant_id = ( SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid AS \"nullif\"))"
    )
    assert catalog.expression(deparsed) == predicate
    assert catalog.expression("x = ANY (ARRAY['a'::text, 'b'::text])") == catalog.expression("x IN ('a', 'b')")
    for lookalike in (
        f"{catalog.TENANT_PREDICATE} OR true",
        f"tenant_id <> {catalog.TENANT}",
        "tenant_id = tenant_id AND current_setting('app.tenant_id', true) IS NOT NULL",
        "tenant_id = (SELECT NULLIF(current_setting('app.tenant', true), '')::uuid)",
        "'tenant_id = (SELECT NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)' <> ''",
    ):
        assert catalog.expression(lookalike) != predicate, lookalike
    with pytest.raises(ValueError, match="not an expression"):
        catalog.expression("true) OR (true")
    with pytest.raises(ValueError, match="not one expression"):
        catalog.expression("true; SELECT 1")


# --- the lint itself --------------------------------------------------------------------------


def _tenant_table(name: str, columns: str) -> list[str]:
    return [
        f"CREATE TABLE lint_probe.{name} (tenant_id uuid NOT NULL, id uuid NOT NULL, {columns},"
        " PRIMARY KEY (tenant_id, id))"
    ]


def _has(problems: list[str], *fragments: str) -> bool:
    return any(all(fragment in problem for fragment in fragments) for problem in problems)


async def test_the_lint_catches_mistakes(owner_engine: AsyncEngine) -> None:
    """Build every mistake the lint is for, check each is reported, then roll it all back."""
    role = f"lint_probe_{secrets.token_hex(4)}"  # roles are cluster-wide; the name must not collide
    async with owner_engine.connect() as connection:
        transaction = await connection.begin()
        try:
            for statement in [
                "CREATE SCHEMA lint_probe",
                # tenant data with nothing right: no RLS, serial id, key and unique not tenant-first
                "CREATE TABLE lint_probe.bare (tenant_id uuid NOT NULL, id serial, code text,"
                " PRIMARY KEY (id, tenant_id), UNIQUE (code))",
                # RLS enabled but not forced, a tenant-blind policy, a foreign key not tenant-first,
                # a supplier's rows without the party wall
                "CREATE TABLE lint_probe.half (tenant_id uuid NOT NULL, id uuid NOT NULL, bare_id int,"
                " supplier_id uuid, PRIMARY KEY (tenant_id, id),"
                " FOREIGN KEY (bare_id, tenant_id) REFERENCES lint_probe.bare (id, tenant_id))",
                "ALTER TABLE lint_probe.half ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY open_all ON lint_probe.half USING (true)",
                # done right, the way migrations do it: must draw no complaint
                "CREATE TABLE lint_probe.good (tenant_id uuid NOT NULL, id uuid NOT NULL, code text,"
                " PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, code))",
                *tenant_rls("lint_probe.good"),
                # policies that read like the tenant predicate to a text search, and are not it
                *_tenant_table("sneaky", "code text"),
                "ALTER TABLE lint_probe.sneaky ENABLE ROW LEVEL SECURITY",
                "ALTER TABLE lint_probe.sneaky FORCE ROW LEVEL SECURITY",
                "CREATE POLICY tenant_isolation ON lint_probe.sneaky"
                " USING (tenant_id = tenant_id AND current_setting('app.tenant_id', true) IS NOT NULL)"
                " WITH CHECK (tenant_id = tenant_id AND current_setting('app.tenant_id', true) IS NOT NULL)",
                *_tenant_table("loose", "code text"),
                *tenant_rls("lint_probe.loose"),
                f"CREATE POLICY also_true ON lint_probe.loose USING ({catalog.TENANT_PREDICATE} OR true)",
                *_tenant_table("quoted", "code text"),
                *tenant_rls("lint_probe.quoted"),
                "CREATE POLICY by_code ON lint_probe.quoted USING (code <> 'current_setting(''app.tenant_id'', true)')",
                # party walls: one done right, one opened by `OR true`, one matching the wrong column
                *_tenant_table("walled", "supplier_id uuid, customer_id uuid"),
                *tenant_rls("lint_probe.walled"),
                *party_rls("lint_probe.walled", supplier_column="supplier_id", customer_column="customer_id"),
                *_tenant_table("opened", "supplier_id uuid"),
                *tenant_rls("lint_probe.opened"),
                *[
                    statement.replace(" USING (", " USING (true OR ").replace(" WITH CHECK (", " WITH CHECK (true OR ")
                    for statement in party_rls("lint_probe.opened", supplier_column="supplier_id", customer_column=None)
                ],
                *_tenant_table("crossed", "supplier_id uuid, customer_id uuid"),
                *tenant_rls("lint_probe.crossed"),
                *party_rls("lint_probe.crossed", supplier_column="customer_id", customer_column=None),
                # a table without tenant_id nobody allow-listed, and the other leaks
                "CREATE TABLE lint_probe.stray (id uuid PRIMARY KEY)",
                "CREATE MATERIALIZED VIEW lint_probe.totals AS SELECT count(*) FROM lint_probe.good",
                "CREATE VIEW lint_probe.peek AS SELECT * FROM lint_probe.good",
                "CREATE VIEW lint_probe.safe_peek WITH (security_invoker = true) AS SELECT * FROM lint_probe.good",
                "CREATE FUNCTION lint_probe.escalate() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
                " AS 'SELECT count(*) FROM lint_probe.good'",
                # the relay's tenant-blind policy on a table done right: must draw no complaint either,
                # while the same policy naming any role beside the relay opens the table
                *relay_rls("lint_probe.good"),
                "CREATE TABLE lint_probe.shared (tenant_id uuid NOT NULL, id uuid NOT NULL,"
                " PRIMARY KEY (tenant_id, id))",
                *tenant_rls("lint_probe.shared"),
                f"CREATE POLICY relay_and_app ON lint_probe.shared TO {RELAY_ROLE}, {APP_ROLE} USING (true)",
                # a run-time role with every power it must not have
                f"CREATE ROLE {role} NOLOGIN SUPERUSER BYPASSRLS",
                f"ALTER TABLE lint_probe.stray OWNER TO {role}",
                f"GRANT CREATE ON SCHEMA lint_probe TO {role}",
                f"GRANT TRUNCATE ON lint_probe.good TO {role}",
                # and a forgotten table in public itself, as a careless migration would add it
                "CREATE TABLE public.lint_probe_leak (tenant_id uuid NOT NULL, id uuid PRIMARY KEY)",
                # the relay reaching further than the outbox: more on it, a grant elsewhere, a column
                # grant, a schema it may create in, and membership in the app role
                f"GRANT DELETE ON public.outbox TO {RELAY_ROLE}",
                f"GRANT SELECT ON lint_probe.good TO {RELAY_ROLE}",
                f"GRANT UPDATE (code) ON lint_probe.good TO {RELAY_ROLE}",
                f"GRANT CREATE ON SCHEMA lint_probe TO {RELAY_ROLE}",
                f"GRANT {APP_ROLE} TO {RELAY_ROLE}",
                # and the app role updating the append-only trail, having lost a privilege it needs
                f"GRANT UPDATE ON public.audit_events TO {APP_ROLE}",
                f"REVOKE INSERT ON public.notifications FROM {APP_ROLE}",
            ]:
                await connection.execute(text(statement))

            schema = "lint_probe"
            assert await catalog.tenant_tables(connection, schema) == [
                "bare",
                "crossed",
                "good",
                "half",
                "loose",
                "opened",
                "quoted",
                "shared",
                "sneaky",
                "walled",
            ]

            rls = await catalog.rls_problems(connection, schema)
            assert _has(rls, "bare", "not enabled")
            assert _has(rls, "bare", "not forced")
            assert _has(rls, "bare", "no policy")
            assert _has(rls, "half", "not forced")
            assert _has(rls, "half", "no permissive tenant policy")
            assert _has(rls, "half", "open_all", "is not bound to app.tenant_id")
            assert not _has(rls, "good")
            assert [problem for problem in rls if problem.startswith("shared")] == [
                "shared: permissive policy relay_and_app is not bound to app.tenant_id (USING)"
            ]
            # what text matching let through: the words of the predicate, but not the predicate
            assert [problem for problem in rls if problem.startswith(("sneaky", "loose", "quoted"))] == [
                "loose: permissive policy also_true is not bound to app.tenant_id (USING)",
                "quoted: permissive policy by_code is not bound to app.tenant_id (USING)",
                "sneaky: has no permissive tenant policy"
                f" ({catalog.TENANT_PREDICATE} in USING and WITH CHECK, all commands)",
                "sneaky: permissive policy tenant_isolation is not bound to app.tenant_id (USING)",
                "sneaky: permissive policy tenant_isolation is not bound to app.tenant_id (WITH CHECK)",
            ]
            assert not _has(rls, "walled")
            # the exemption is for the relay role only: linted for another relay name, good is caught
            assert _has(await catalog.rls_problems(connection, schema, relay_role=role), "good", "relay_sweep")

            assert await catalog.party_problems(connection, schema) == [
                "crossed: RESTRICTIVE policy party_scope is not the party predicate (staff, system, own party)",
                "half: party-owned but has no RESTRICTIVE policy on app.party_kind",
                "opened: RESTRICTIVE policy party_scope is not the party predicate (staff, system, own party)",
            ]

            keys = await catalog.key_problems(connection, schema)
            assert _has(keys, "bare", "pk_") or _has(keys, "bare", "bare_pkey")
            assert _has(keys, "bare", "bare_code_key")
            assert not _has(keys, "good")
            assert not _has(keys, "half")

            assert _has(await catalog.foreign_key_problems(connection, schema), "half", "to bare")
            assert await catalog.global_table_problems(connection, schema) == [
                "stray: has no tenant_id and is not an allow-listed global table",
                "totals: materialized view (RLS does not apply to it)",
            ]
            assert await catalog.view_problems(connection, schema) == ["peek: view without security_invoker=true"]
            assert await catalog.function_problems(connection, schema) == ["escalate(): SECURITY DEFINER"]

            sequences = await catalog.sequence_problems(connection, schema)
            assert _has(sequences, "bare", "owns sequence")
            assert _has(sequences, "bare.id", "nextval")

            powers = await catalog.role_problems(connection, role, schema)
            for fragment in ("is superuser", "has BYPASSRLS", "owns relation lint_probe.stray", "may CREATE"):
                assert _has(powers, fragment), (fragment, powers)
            assert _has(powers, "TRUNCATE on good")
            # the real app role was granted nothing on the probe tables
            assert _has(await catalog.grant_problems(connection, schema=schema), "bare", "lacks SELECT")
            grants = await catalog.grant_problems(connection)
            assert "audit_events: the app role has UPDATE, which is withheld from it on purpose" in grants
            assert "notifications: the app role lacks INSERT" in grants

            relay = await catalog.relay_role_problems(connection)
            assert sorted(relay) == [
                f"{RELAY_ROLE}: has DELETE on public.outbox",
                f"{RELAY_ROLE}: has SELECT on lint_probe.good",
                f"{RELAY_ROLE}: has UPDATE on lint_probe.good",
                f"{RELAY_ROLE}: is a member of {APP_ROLE}",
                f"{RELAY_ROLE}: may CREATE in schema lint_probe",
            ], relay
            # and a superuser relay owning things is caught by the same rules as the app role
            probe_as_relay = await catalog.relay_role_problems(connection, role)
            for fragment in ("is superuser", "has BYPASSRLS", "owns relation lint_probe.stray", "may CREATE"):
                assert _has(probe_as_relay, fragment), (fragment, probe_as_relay)

            # the lint of public sees the new table too: this is what fails the build
            assert _has(await catalog.rls_problems(connection), "lint_probe_leak", "not enabled")
            assert _has(await catalog.key_problems(connection), "lint_probe_leak", "does not start with tenant_id")
        finally:
            await transaction.rollback()

    # nothing of the probe survived
    async with owner_engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'lint_probe'")) == 0
        assert await connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}) == 0
