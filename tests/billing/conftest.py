"""Billing tests: each module makes its own workspaces (unique slugs) through the real services,
in the tenant's system context as the app role, and its own app instance (so the tenant
directory's cache is that module's alone).

The helpers are plain functions, imported by the modules (as tests/web/conftest.py's are)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text, update

from backend.accounts.service import PersonForm, add_person
from backend.app import create_app
from backend.dev.demo import DEMO_PASSWORD
from backend.jobs.broker import load_jobs
from backend.kit.ids import new_id
from backend.models import (
    JobStatus,
    MembershipKind,
    OutboxJob,
    Tenant,
    TenantStatus,
)
from backend.parties.service import PartyForm, create_customer, create_supplier
from backend.settings import Settings, load_settings
from tenants.context import TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.people import give_login
from tests.isolation import catalog
from tests.web.conftest import Browser

PASSWORD = DEMO_PASSWORD


def settings_of(data_dir: str, **extra: str) -> Settings:
    """The settings of tests/web/conftest.py's app (billing off unless `extra` says otherwise)."""
    return load_settings(
        {
            "MERKATO_ENV": "test",
            "MERKATO_SECRET_KEY": "test-secret-key-with-enough-entropy-0123456789",
            "MERKATO_DATA_DIR": data_dir,
            **extra,
        }
    )


# the workspaces the running module made (new_workspace adds to it; the fixture below empties it)
MADE: list[UUID] = []


@pytest.fixture(scope="module", autouse=True)
async def leave_no_pending_jobs(db: Database) -> AsyncIterator[None]:
    """After each module, its workspaces' pending jobs are cancelled: another module's relay (the
    browser tests' live server sweeps every tenant) must not run thousands of webhook events of a
    workspace nobody looks at any more."""
    yield
    for tenant_id in MADE:
        async with db.transaction(TenantContext.system(tenant_id)) as session:
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.tenant_id == tenant_id, OutboxJob.status == JobStatus.PENDING)
                .values(status=JobStatus.CANCELLED)
            )
    MADE.clear()


@pytest.fixture(scope="module")
def billing_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_of(str(tmp_path_factory.mktemp("billing-data")))


@pytest.fixture(scope="module")
def billing_app(db: Database, demo: Any, billing_settings: Settings) -> HostDispatcher:
    """This module's own app (billing off, like tests/web's): a fresh tenant directory cache."""
    load_jobs()
    return create_app(billing_settings, database=db)


@pytest.fixture
async def browsers(billing_app: HostDispatcher) -> AsyncIterator[Callable[[str], Browser]]:
    """browsers("slug.localhost") -> a fresh Browser on this module's app; closed after the test."""
    opened: list[Browser] = []

    def make(host: str) -> Browser:
        opened.append(Browser(billing_app, host))
        return opened[-1]

    yield make
    for b in opened:
        await b.aclose()


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


@dataclass(frozen=True)
class Workspace:
    id: UUID
    slug: str
    owner_email: str
    owner_membership: UUID

    @property
    def host(self) -> str:
        return f"{self.slug}.localhost"

    @property
    def context(self) -> TenantContext:
        return TenantContext.system(self.id)

    def email(self, local: str) -> str:
        return f"{local}@{self.slug}.test"


async def new_workspace(
    db: Database,
    prefix: str,
    *,
    plan: str = "growth",
    status: TenantStatus = TenantStatus.ACTIVE,
    stripe_customer_id: str | None = None,
) -> Workspace:
    """A tenant with its owner (who can log in with PASSWORD), made as sign_up makes one: the
    tenant row and the owner's membership in one transaction carrying the new tenant's context."""
    tenant_id = new_id()
    slug = unique_slug(prefix)
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        tenant = await create_tenant(
            session, slug=slug, name=f"Billing test {slug}", status=status, plan=plan, tenant_id=tenant_id
        )
        tenant.stripe_customer_id = stripe_customer_id
        owner = await _add(session, f"owner@{slug}.test", MembershipKind.STAFF, roles=("owner",), login=True)
    MADE.append(tenant_id)
    return Workspace(id=tenant_id, slug=slug, owner_email=f"owner@{slug}.test", owner_membership=owner)


async def _add(
    session: Any,
    email: str,
    kind: MembershipKind,
    *,
    roles: tuple[str, ...] = (),
    login: bool = False,
    supplier_id: UUID | None = None,
    customer_id: UUID | None = None,
) -> UUID:
    if login:  # as the demo does: the login first, then add_person finds it
        await give_login(session, email, PASSWORD)
    membership = await add_person(
        session,
        PersonForm(email=email, full_name=email.split("@")[0].title(), roles=list(roles)),
        kind=kind,
        supplier_id=supplier_id,
        customer_id=customer_id,
    )
    return membership.id


async def add_member(
    db: Database,
    workspace: Workspace,
    local: str,
    kind: MembershipKind = MembershipKind.STAFF,
    *,
    roles: tuple[str, ...] = (),
    login: bool = False,
    supplier_id: UUID | None = None,
    customer_id: UUID | None = None,
) -> UUID:
    """A membership through accounts.add_person (plan limits apply); its id."""
    async with db.transaction(workspace.context) as session:
        return await _add(
            session,
            workspace.email(local),
            kind,
            roles=roles,
            login=login,
            supplier_id=supplier_id,
            customer_id=customer_id,
        )


def party_form(name: str) -> PartyForm:
    return PartyForm(name=name, country="DE", currency="EUR", email="", phone="")


async def new_supplier(db: Database, workspace: Workspace, name: str) -> UUID:
    async with db.transaction(workspace.context) as session:
        return (await create_supplier(session, party_form(name))).id


async def new_customer(db: Database, workspace: Workspace, name: str) -> UUID:
    async with db.transaction(workspace.context) as session:
        return (await create_customer(session, party_form(name))).id


async def update_tenant(db: Database, tenant_id: UUID, **fields: Any) -> None:
    """Change the (global) tenant row, as the billing worker would, in the tenant's system context."""
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        for name, value in fields.items():
            setattr(tenant, name, value)


async def load_tenant(db: Database, tenant_id: UUID) -> Tenant:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        session.expunge(tenant)
        return tenant


async def workspace_rows(db: Database, tenant_id: UUID) -> dict[str, tuple[int, str]]:
    """Every tenant table of the catalog (tests/isolation/catalog.py, not a list kept by hand) ->
    how many rows the workspace has there and a digest of their contents, so that comparing two
    of these tells any INSERT, UPDATE or DELETE in the workspace. Read in its system context, which
    every party and system-only policy admits."""
    found = {}
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        for table in await catalog.tenant_tables(await session.connection()):
            count, digest = (
                await session.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                        f" FROM {table} t WHERE tenant_id = :tenant"
                    ),
                    {"tenant": tenant_id},
                )
            ).one()
            found[table] = (count, digest)
    return found


async def counts(db: Database, tenant_id: UUID) -> dict[str, int]:
    """Rows of the workspace in every tenant table of the catalog."""
    return {table: count for table, (count, _) in (await workspace_rows(db, tenant_id)).items()}
