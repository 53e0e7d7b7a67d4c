"""The second wall around global tables: an app-level bug that forgets its WHERE clause, or tries
to write what no workspace may, finds the database refusing — in every context a request can
have. (The catalog lint checks that every global table has forced RLS; this checks what the
policies let through.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.tokens import new_secret
from backend.dev.demo import DemoData
from backend.kit.ids import new_id
from backend.models import (
    AccountLink,
    ApexSession,
    Credential,
    Identity,
    LoginFailure,
    Membership,
    Tenant,
)
from tenants.context import NO_CONTEXT, PartyKind, TenantContext
from tenants.isolation import Database


def _staff(demo: DemoData, slug: str = "acme") -> TenantContext:
    tenant = demo.tenants[slug]
    return TenantContext(
        tenant_id=tenant.id,
        party_kind=PartyKind.STAFF,
        identity_id=tenant.identity("admin"),
        membership_id=tenant.membership("admin"),
    )


def _supplier(demo: DemoData) -> TenantContext:
    acme = demo.tenants["acme"]
    return TenantContext(
        tenant_id=acme.id,
        party_kind=PartyKind.SUPPLIER,
        party_id=acme.supplier_ids[0],
        identity_id=acme.identity("supplier"),
        membership_id=acme.membership("supplier"),
    )


@pytest.fixture(scope="module")
async def apex_rows(db: Database, demo: DemoData) -> None:
    """An apex session, a one-time link and a login failure to be hidden."""
    globex_admin = demo.tenants["globex"].identity("admin")
    async with db.transaction(TenantContext.system(None, identity_id=globex_admin)) as session:
        await session.execute(text("SELECT set_config('app.lookup_email', 'admin@globex.test', true)"))
        await session.execute(text("SELECT set_config('app.lookup_client', '10.200.0.1', true)"))
        _token, token_hash = new_secret()
        session.add(
            ApexSession(
                token_hash=token_hash, identity_id=globex_admin, expires_at=datetime.now(UTC) + timedelta(hours=1)
            )
        )
        session.add(
            AccountLink(
                email="admin@globex.test",
                purpose="password_reset",
                token_hash=new_secret()[1],
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
        session.add(LoginFailure(email="admin@globex.test", client_address="10.200.0.1"))


async def _count(db: Database, context: TenantContext, model: type) -> int:
    async with db.transaction(context) as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _members(owner_engine: AsyncEngine, tenant_id: UUID, party_id: UUID | None = None) -> int:
    async with AsyncSession(owner_engine) as session:
        query = select(func.count(func.distinct(Membership.identity_id))).where(Membership.tenant_id == tenant_id)
        if party_id is not None:
            query = query.where(Membership.supplier_id == party_id)
        return await session.scalar(query) or 0


@pytest.mark.usefixtures("apex_rows")
async def test_a_request_sees_only_the_identities_it_may(
    db: Database, demo: DemoData, owner_engine: AsyncEngine
) -> None:
    acme = demo.tenants["acme"]
    async with AsyncSession(owner_engine) as session:
        everyone = await session.scalar(select(func.count()).select_from(Identity))
    assert (await _count(db, _staff(demo), Identity)) == await _members(owner_engine, acme.id) < everyone
    # a supplier's people see their colleagues, not the buyer's staff or other suppliers' people
    colleagues = await _members(owner_engine, acme.id, acme.supplier_ids[0])
    assert (await _count(db, _supplier(demo), Identity)) == colleagues
    assert (await _count(db, NO_CONTEXT, Identity)) == 0
    assert (await _count(db, TenantContext.system(None), Identity)) == 0


@pytest.mark.usefixtures("apex_rows")
@pytest.mark.parametrize("model", [Credential, ApexSession, AccountLink, LoginFailure])
async def test_secrets_and_login_state_are_hidden_from_every_request(
    db: Database, demo: DemoData, owner_engine: AsyncEngine, model: type
) -> None:
    async with AsyncSession(owner_engine) as session:
        assert (await session.scalar(select(func.count()).select_from(model)) or 0) > 0
    for context in (_staff(demo), _supplier(demo), TenantContext.system(demo.acme.id), NO_CONTEXT):
        assert await _count(db, context, model) == 0, (model, context)


async def test_the_login_step_sees_the_hash_of_the_e_mail_it_looks_up_only(db: Database, demo: DemoData) -> None:
    async with db.transaction(TenantContext.system(None)) as session:
        await session.execute(text("SELECT set_config('app.lookup_email', 'buyer@acme.test', true)"))
        hashes = (await session.execute(select(Identity.email).join(Credential))).scalars().all()
    assert hashes == ["buyer@acme.test"]
    # the same lookup from a staff request shows no hash at all
    async with db.transaction(_staff(demo)) as session:
        await session.execute(text("SELECT set_config('app.lookup_email', 'buyer@acme.test', true)"))
        assert await session.scalar(select(func.count()).select_from(Credential)) == 0


async def test_a_request_sees_its_own_tenant_only(db: Database, demo: DemoData) -> None:
    for context in (_staff(demo), _supplier(demo), TenantContext.system(demo.acme.id)):
        async with db.transaction(context) as session:
            assert list(await session.scalars(select(Tenant.slug))) == ["acme"]
    assert await _count(db, NO_CONTEXT, Tenant) == 0


async def test_no_workspace_can_verify_rename_or_give_a_password_to_someone_else(db: Database, demo: DemoData) -> None:
    globex_admin = demo.tenants["globex"].identity("admin")
    acme_buyer = demo.tenants["acme"].identity("buyer")
    for context in (_staff(demo), _supplier(demo), TenantContext.system(demo.acme.id)):
        async with db.transaction(context) as session:
            # not even a member of this very workspace: only the identity itself changes its row
            for target in (globex_admin, acme_buyer):
                changed = await session.execute(
                    update(Identity).where(Identity.id == target).values(full_name="Hijacked", verified_at=None)
                )
                assert changed.rowcount == 0, context
        async with db.transaction(context) as session:
            with pytest.raises((DBAPIError, ProgrammingError)):
                await session.execute(
                    Credential.__table__.insert().values(identity_id=acme_buyer, password_hash="$argon2id$forged")
                )
        async with db.transaction(context) as session:
            proved = Identity.__table__.insert().values(
                id=new_id(), email=f"{new_id().hex}@x.test", full_name="X", verified_at=datetime.now(UTC)
            )
            with pytest.raises((DBAPIError, ProgrammingError)):  # a new identity proves nothing
                await session.execute(proved)


async def test_a_password_needs_a_proved_address_even_for_itself(db: Database) -> None:
    identity_id = new_id()
    async with db.transaction(TenantContext.system(None, identity_id=identity_id)) as session:
        session.add(Identity(id=identity_id, email=f"{identity_id.hex}@unproved.test", full_name="Unproved"))
        await session.flush()
        with pytest.raises((DBAPIError, ProgrammingError)):
            await session.execute(
                Credential.__table__.insert().values(identity_id=identity_id, password_hash="$argon2id$chosen")
            )
