"""The `merkato` command against the test database: what it creates is real (a tenant, a login that
logs in), and what it refuses is one line on stderr, exit code 2, with nothing written."""

from __future__ import annotations

import asyncio
import secrets
import shlex
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.service import check_credentials
from backend.cli import main
from backend.dev.demo import DemoData
from backend.models import Identity, Membership, Tenant
from tenants.context import TenantContext
from tenants.isolation import Database

Merkato = Callable[..., Awaitable[Result]]  # merkato("tenants list"), merkato("users create …", stdin=…)


@pytest.fixture
def merkato(owner_url: str, tmp_path: Path) -> Merkato:
    """Run `merkato …` on the test database, as an operator would (in a thread: it runs its own loop)."""
    env = {
        "DATABASE_URL": owner_url,
        "DATABASE_APP_URL": None,
        "BROKER_URL": None,
        "MERKATO_ENV": "test",
        "MERKATO_DATA_DIR": str(tmp_path),
    }

    async def run(command: str, stdin: str | None = None) -> Result:
        runner = CliRunner(env=env)
        return await asyncio.to_thread(runner.invoke, main, shlex.split(command), input=stdin, catch_exceptions=False)

    return run


def new_slug() -> str:
    return f"cli-{secrets.token_hex(4)}"


def refusal(result: Result) -> str:
    """The one line a refusal prints; fails the test unless that is all it did."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


# What the command wrote is read as the owner: the app role sees no tenant or identity but those
# its context names (RLS on the global tables), and these checks are about every row.


async def tenant_rows(owner: AsyncEngine, slug: str | None = None) -> list[Tenant]:
    async with AsyncSession(owner, expire_on_commit=False) as session:
        query = select(Tenant) if slug is None else select(Tenant).where(Tenant.slug == slug)
        return list(await session.scalars(query))


async def identity_count(owner: AsyncEngine, email: str) -> int:
    async with AsyncSession(owner) as session:
        return await session.scalar(select(func.count()).where(Identity.email == email)) or 0


async def test_tenants_create_then_list(merkato: Merkato, db: Database, owner_engine: AsyncEngine) -> None:
    slug = new_slug()
    created = await merkato(f"tenants create --slug {slug} --name 'Cli Test GmbH' --currency eur")
    assert created.exit_code == 0, created.output

    [tenant] = await tenant_rows(owner_engine, slug)
    assert (tenant.name, tenant.currency, tenant.locale) == ("Cli Test GmbH", "EUR", "en")
    listed = await merkato("tenants list")
    assert listed.exit_code == 0
    assert any(line.split()[0] == slug for line in listed.stdout.splitlines())


async def test_a_taken_slug_is_refused_and_the_first_tenant_is_untouched(
    merkato: Merkato, db: Database, owner_engine: AsyncEngine
) -> None:
    slug = new_slug()
    assert (await merkato(f"tenants create --slug {slug} --name First")).exit_code == 0
    before = len(await tenant_rows(owner_engine))

    line = refusal(await merkato(f"tenants create --slug {slug} --name Second"))

    assert "already exists" in line
    assert [t.name for t in await tenant_rows(owner_engine, slug)] == ["First"]
    assert len(await tenant_rows(owner_engine)) == before


@pytest.mark.parametrize("slug", ["www", "api", "Bad_Slug", "-edge", "edge-", "a" * 41, "ü-umlaut"])
async def test_a_reserved_or_malformed_slug_is_refused(
    merkato: Merkato, db: Database, slug: str, owner_engine: AsyncEngine
) -> None:
    before = len(await tenant_rows(owner_engine))

    line = refusal(await merkato(f"tenants create --slug {shlex.quote(slug)} --name Nope"))

    assert line.startswith("Error: --slug:")
    assert len(await tenant_rows(owner_engine)) == before


async def test_bad_tenant_options_are_refused_before_anything_is_written(
    merkato: Merkato, db: Database, owner_engine: AsyncEngine
) -> None:
    slug = new_slug()
    assert "--currency" in refusal(await merkato(f"tenants create --slug {slug} --name X --currency XYZ"))
    assert "--name" in refusal(await merkato(f"tenants create --slug {slug} --name '  '"))
    assert await tenant_rows(owner_engine, slug) == []


async def test_users_create_gives_a_staff_login(merkato: Merkato, db: Database, owner_engine: AsyncEngine) -> None:
    slug = new_slug()
    assert (await merkato(f"tenants create --slug {slug} --name 'Login Test'")).exit_code == 0
    email, password = f"owner@{slug}.test", "a-long-enough-password"

    result = await merkato(
        f"users create --tenant {slug} --email {email.upper()} --name 'Olga Owner' --kind staff"
        f" --role owner --role buyer --password {password}"
    )

    assert result.exit_code == 0, result.output
    async with db.transaction(TenantContext.system(None)) as session:  # the login step's context
        identity = await check_credentials(session, email, password, client="127.0.0.1", max_failures=100)
    [tenant] = await tenant_rows(owner_engine, slug)
    async with db.transaction(TenantContext.system(tenant.id)) as session:
        membership = await session.scalar(select(Membership).where(Membership.identity_id == identity.id))
    assert membership is not None
    assert (membership.kind, membership.roles) == ("staff", ["buyer", "owner"])


async def test_users_create_asks_for_the_password_and_finds_the_customer_by_number(
    merkato: Merkato, db: Database, demo: DemoData
) -> None:
    email, password = f"{new_slug()}@northwind.test", "typed-at-the-prompt"

    result = await merkato(
        f"users create --tenant acme --email {email} --name 'Nora Prompt' --kind customer --party-number cus-00001",
        stdin=f"{password}\n{password}\n",
    )

    assert result.exit_code == 0, result.output
    assert password not in result.stdout  # hidden input is not echoed
    async with db.transaction(TenantContext.system(None)) as session:  # the login step's context
        identity = await check_credentials(session, email, password, client="127.0.0.1", max_failures=100)
    async with db.transaction(TenantContext.system(demo.acme.id)) as session:
        membership = await session.scalar(select(Membership).where(Membership.identity_id == identity.id))
    assert membership is not None
    assert membership.customer_id == demo.acme.customer_ids[0]


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ("--kind supplier --party-number SUP-99999", "--party-number"),
        ("--kind supplier", "--party-number"),
        ("--kind staff", "--role"),
        ("--kind staff --role admin --party-number SUP-00001", "--party-number"),
        ("--kind customer --role admin --party-number CUS-00001", "--role"),
        ("--kind staff --role admin --password short", "--password"),
    ],
)
async def test_users_create_refuses_bad_input_and_writes_nothing(
    merkato: Merkato, db: Database, demo: DemoData, options: str, option: str, owner_engine: AsyncEngine
) -> None:
    email = f"{new_slug()}@nowhere.test"

    command = f"users create --tenant acme --email {email} --name Nobody --password a-long-enough-password {options}"

    line = refusal(await merkato(command))

    assert line.startswith(f"Error: {option}:")
    assert await identity_count(owner_engine, email) == 0


async def test_users_create_refuses_an_unknown_tenant(
    merkato: Merkato, db: Database, owner_engine: AsyncEngine
) -> None:
    email = f"{new_slug()}@nowhere.test"
    command = f"users create --tenant {new_slug()} --email {email} --name Nobody --kind staff --role admin"
    line = refusal(await merkato(f"{command} --password a-long-enough-password"))
    assert line.startswith("Error: --tenant:")
    assert await identity_count(owner_engine, email) == 0


async def test_worker_without_a_broker_points_to_serve(merkato: Merkato) -> None:
    assert "merkato serve" in refusal(await merkato("worker"))
