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

from tenants.isolation import tenant_rls
from tests.isolation import catalog

# Not the source of truth (the catalog is); a floor proving that discovery finds tables at all.
KNOWN_TENANT_TABLES = {"counters", "customers", "items", "suppliers", "memberships", "login_tickets", "web_sessions"}


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


# --- the lint itself --------------------------------------------------------------------------


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
                # a table without tenant_id nobody allow-listed, and the other leaks
                "CREATE TABLE lint_probe.stray (id uuid PRIMARY KEY)",
                "CREATE MATERIALIZED VIEW lint_probe.totals AS SELECT count(*) FROM lint_probe.good",
                "CREATE VIEW lint_probe.peek AS SELECT * FROM lint_probe.good",
                "CREATE VIEW lint_probe.safe_peek WITH (security_invoker = true) AS SELECT * FROM lint_probe.good",
                "CREATE FUNCTION lint_probe.escalate() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
                " AS 'SELECT count(*) FROM lint_probe.good'",
                # a run-time role with every power it must not have
                f"CREATE ROLE {role} NOLOGIN SUPERUSER BYPASSRLS",
                f"ALTER TABLE lint_probe.stray OWNER TO {role}",
                f"GRANT CREATE ON SCHEMA lint_probe TO {role}",
                f"GRANT TRUNCATE ON lint_probe.good TO {role}",
                # and a forgotten table in public itself, as a careless migration would add it
                "CREATE TABLE public.lint_probe_leak (tenant_id uuid NOT NULL, id uuid PRIMARY KEY)",
            ]:
                await connection.execute(text(statement))

            schema = "lint_probe"
            assert await catalog.tenant_tables(connection, schema) == ["bare", "good", "half"]

            rls = await catalog.rls_problems(connection, schema)
            assert _has(rls, "bare", "not enabled")
            assert _has(rls, "bare", "not forced")
            assert _has(rls, "bare", "no policy")
            assert _has(rls, "half", "not forced")
            assert _has(rls, "half", "no permissive tenant policy")
            assert _has(rls, "half", "open_all", "does not look at app.tenant_id")
            assert not _has(rls, "good")

            assert await catalog.party_problems(connection, schema) == [
                "half: party-owned but has no RESTRICTIVE policy on app.party_kind"
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

            # the lint of public sees the new table too: this is what fails the build
            assert _has(await catalog.rls_problems(connection), "lint_probe_leak", "not enabled")
            assert _has(await catalog.key_problems(connection), "lint_probe_leak", "does not start with tenant_id")
        finally:
            await transaction.rollback()

    # nothing of the probe survived
    async with owner_engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = 'lint_probe'")) == 0
        assert await connection.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}) == 0
