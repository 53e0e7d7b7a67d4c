"""Plan limits and modules (tenants/billing/entitlements.py), where things are created: each limit
of the starter plan on a workspace of its own, through the services and through the pages; the
modules of every plan; the API refused to plans without it; and two requests racing for the last
seat."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from backend.accounts.service import PersonForm, add_person, set_active
from backend.models import Identity, Membership, MembershipKind, Supplier
from backend.models.party import PartyStatus
from backend.parties.service import create_supplier
from tenants.billing.entitlements import LimitReached, ModuleNotInPlan, require_module, usage
from tenants.billing.plans import PLANS, Limit, Module
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.billing.conftest import (
    Workspace,
    add_member,
    counts,
    new_customer,
    new_supplier,
    new_workspace,
    party_form,
    update_tenant,
)
from tests.web.conftest import Browser, api_token

STARTER = PLANS["starter"]


def refusal_text(limit_label: str, allowed: int) -> str:
    return f"Your Starter plan includes {allowed} of “{limit_label}”, and all are in use."


@pytest.fixture
async def starter(db: Database, demo: Any) -> Workspace:
    """A fresh starter workspace per test: its owner holds one staff seat."""
    return await new_workspace(db, "ent", plan="starter")


async def usage_of(db: Database, workspace: Workspace, limit: Limit) -> int:
    async with db.transaction(workspace.context) as session:
        return await usage(session, limit)


async def identity_exists(db: Database, email: str) -> bool:
    async with db.transaction(TenantContext(tenant_id=None)) as session:
        return await session.scalar(select(Identity.id).where(Identity.email == email)) is not None


async def owner_browser(browsers: Callable[[str], Browser], workspace: Workspace) -> Browser:
    browser = browsers(workspace.host)
    assert (await browser.login(workspace.owner_email)).status_code in (302, 303)
    return browser


def assert_plan_refusal(response: Any, text: str) -> None:
    assert response.status_code == 400, response.text[:300]
    assert text in response.text
    assert 'id="plan-limit"' in response.text
    assert '<a href="/admin/billing" id="upgrade-link">' in response.text


# --- staff seats --------------------------------------------------------------------------------


async def test_staff_seats(db: Database, starter: Workspace, browsers: Callable[[str], Browser]) -> None:
    allowed = STARTER.limit(Limit.STAFF_SEATS)
    assert allowed == 5
    members = [await add_member(db, starter, f"staff{n}", roles=("buyer",)) for n in range(allowed - 1)]
    assert await usage_of(db, starter, Limit.STAFF_SEATS) == allowed  # the owner and four more

    before = await counts(db, starter.id)
    with pytest.raises(LimitReached) as refused:
        await add_member(db, starter, "one-too-many", roles=("buyer",))
    assert (refused.value.limit, refused.value.allowed, refused.value.plan) == (Limit.STAFF_SEATS, 5, STARTER)
    message = refused.value.errors["plan"]
    assert message.startswith(refusal_text("Staff seats", 5))
    assert "Upgrade the plan" in message
    assert await counts(db, starter.id) == before  # no membership, no audit event, no invitation
    assert not await identity_exists(db, starter.email("one-too-many"))

    # through the page: the form again, 400, the plan's message with the way to upgrade
    owner = await owner_browser(browsers, starter)
    before = await counts(db, starter.id)
    data = {"email": starter.email("by-page"), "full_name": "By Page", "roles": "buyer"}
    assert_plan_refusal(await owner.post_form("/admin/users", data), refusal_text("Staff seats", 5))
    assert (await counts(db, starter.id))["memberships"] == before["memberships"]
    assert not await identity_exists(db, starter.email("by-page"))

    # deactivating someone frees a seat
    async with db.transaction(starter.context) as session:
        leaving = await session.get(Membership, (starter.id, members[0]))
        assert leaving is not None
        await set_active(session, leaving, False)
    assert await usage_of(db, starter, Limit.STAFF_SEATS) == allowed - 1
    assert (await owner.post_form("/admin/users", data)).status_code in (302, 303)
    assert await usage_of(db, starter, Limit.STAFF_SEATS) == allowed

    # ...and taking the seat back when the plan is full is refused
    before = await counts(db, starter.id)
    async with db.transaction(starter.context) as session:
        leaving = await session.get(Membership, (starter.id, members[0]))
        assert leaving is not None
        with pytest.raises(LimitReached):
            await set_active(session, leaving, True)
    assert await counts(db, starter.id) == before
    async with db.transaction(starter.context) as session:
        assert await session.scalar(select(Membership.active).where(Membership.id == members[0])) is False


async def test_reactivating_through_the_page_when_full_shows_the_plan_refusal(
    db: Database, starter: Workspace, browsers: Callable[[str], Browser]
) -> None:
    members = [await add_member(db, starter, f"staff{n}", roles=("buyer",)) for n in range(4)]
    owner = await owner_browser(browsers, starter)
    assert (await owner.post_form(f"/admin/users/{members[0]}/deactivate")).status_code in (302, 303)
    await add_member(db, starter, "newcomer", roles=("buyer",))  # takes the freed seat
    before = await counts(db, starter.id)
    response = await owner.post_form(f"/admin/users/{members[0]}/reactivate")
    assert await counts(db, starter.id) == before
    assert response.status_code == 400, f"{response.status_code}: {response.text[:300]}"
    assert refusal_text("Staff seats", 5) in response.text
    assert 'id="upgrade-link"' in response.text


# --- active suppliers -----------------------------------------------------------------------------


async def test_active_suppliers(db: Database, starter: Workspace, browsers: Callable[[str], Browser]) -> None:
    allowed = STARTER.limit(Limit.ACTIVE_SUPPLIERS)
    assert allowed == 25
    assert await usage_of(db, starter, Limit.ACTIVE_SUPPLIERS) == 0  # other workspaces' suppliers do not count
    first = [await new_supplier(db, starter, f"Supplier {n:02d}") for n in range(allowed)]
    assert await usage_of(db, starter, Limit.ACTIVE_SUPPLIERS) == allowed

    before = await counts(db, starter.id)
    with pytest.raises(LimitReached) as refused:
        await new_supplier(db, starter, "Supplier 26")
    assert refused.value.limit == Limit.ACTIVE_SUPPLIERS
    assert refused.value.errors["plan"].startswith(refusal_text("Active suppliers", 25))
    assert await counts(db, starter.id) == before  # no supplier, no number taken, no announcement, no audit

    owner = await owner_browser(browsers, starter)
    before = await counts(db, starter.id)  # after the login's own audit event
    form = {"name": "Page Supplier", "country": "DE", "currency": "EUR"}
    assert_plan_refusal(await owner.post_form("/suppliers/", form), refusal_text("Active suppliers", 25))
    assert await counts(db, starter.id) == before

    # only active suppliers count: a blocked one frees the place
    async with db.transaction(starter.context) as session:
        supplier = await session.get(Supplier, (starter.id, first[0]))
        assert supplier is not None
        supplier.status = PartyStatus.BLOCKED
    assert (await owner.post_form("/suppliers/", form)).status_code in (302, 303)
    assert await usage_of(db, starter, Limit.ACTIVE_SUPPLIERS) == allowed


# --- customer portal users; supplier portal users are not limited -------------------------------


async def test_customer_portal_users(db: Database, starter: Workspace, browsers: Callable[[str], Browser]) -> None:
    allowed = STARTER.limit(Limit.CUSTOMER_USERS)
    assert allowed == 10
    customers = [await new_customer(db, starter, "Customer A"), await new_customer(db, starter, "Customer B")]
    for n in range(allowed):  # across both customers: the limit is the workspace's
        await add_member(db, starter, f"buyer{n}", MembershipKind.CUSTOMER, customer_id=customers[n % 2])
    assert await usage_of(db, starter, Limit.CUSTOMER_USERS) == allowed

    before = await counts(db, starter.id)
    with pytest.raises(LimitReached) as refused:
        await add_member(db, starter, "buyer-extra", MembershipKind.CUSTOMER, customer_id=customers[0])
    assert refused.value.limit == Limit.CUSTOMER_USERS
    assert await counts(db, starter.id) == before
    assert not await identity_exists(db, starter.email("buyer-extra"))

    owner = await owner_browser(browsers, starter)
    before = await counts(db, starter.id)  # after the login's own audit event
    data = {"email": starter.email("buyer-page"), "full_name": "Buyer Page"}
    response = await owner.post_form(f"/customers/{customers[1]}/users", data)
    assert_plan_refusal(response, refusal_text("Customer portal users", 10))
    assert await counts(db, starter.id) == before

    # staff seats are a separate limit: a staff member can still be added
    await add_member(db, starter, "staffer", roles=("sales",))


async def test_supplier_portal_users_are_not_limited(db: Database, starter: Workspace) -> None:
    supplier_id = await new_supplier(db, starter, "Big Supplier")
    largest = max(limit for limit in STARTER.limits.values() if limit is not None)
    for n in range(largest + 5):
        await add_member(db, starter, f"seller{n}", MembershipKind.SUPPLIER, supplier_id=supplier_id)
    async with db.transaction(starter.context) as session:
        found = await session.scalar(
            select(func.count()).where(Membership.tenant_id == starter.id, Membership.kind == MembershipKind.SUPPLIER)
        )
    assert found == largest + 5


# --- modules ------------------------------------------------------------------------------------

# What each plan includes (the product's decision, restated so that a change to it is deliberate).
PLAN_MODULES = {
    "starter": {Module.SOURCING},
    "growth": {Module.SOURCING, Module.REVERSE_AUCTIONS, Module.API_ACCESS},
    "enterprise": {Module.SOURCING, Module.REVERSE_AUCTIONS, Module.API_ACCESS},
}


def test_the_plans_include_the_intended_modules() -> None:
    assert set(PLAN_MODULES) == set(PLANS)
    assert {code: set(plan.modules) for code, plan in PLANS.items()} == PLAN_MODULES


@pytest.mark.parametrize(("code", "module"), [(code, module) for code in PLANS for module in Module])
def test_require_module_follows_the_plan(code: str, module: Module) -> None:
    plan = PLANS[code]
    if module in plan.modules:
        require_module(plan, module)
        return
    with pytest.raises(ModuleNotInPlan) as refused:
        require_module(plan, module)
    assert (refused.value.plan, refused.value.module) == (plan, module)
    assert str(refused.value) == f"Your {plan.name} plan does not include {module.label}. Upgrade the plan to use it."


async def test_api_access_is_refused_to_plans_without_it(
    db: Database, demo: Any, billing_app: HostDispatcher, browsers: Callable[[str], Browser]
) -> None:
    workspace = await new_workspace(db, "ent-api", plan="growth")
    token = await api_token(billing_app, workspace.owner_email, host=workspace.host)
    browser = browsers(workspace.host)
    headers = {"authorization": f"Bearer {token}"}
    assert (await browser.get("/api/v1/me", headers=headers)).status_code == 200

    # downgraded to starter (no API access): the same token is refused, with the reason
    await update_tenant(db, workspace.id, plan="starter")
    billing_app.directory.forget(workspace.slug)
    for path in ("/api/v1/me", "/api/v1/suppliers"):
        refused = await browser.get(path, headers=headers)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.json()["detail"] == "Your Starter plan does not include API access. Upgrade the plan to use it."
    before = await counts(db, workspace.id)
    created = await browser.client.post(
        "/api/v1/suppliers", json={"name": "X", "country": "DE", "currency": "EUR"}, headers=headers
    )
    assert created.status_code == 403
    assert await counts(db, workspace.id) == before
    token_request = await browser.client.post(
        "/api/v1/token", json={"email": workspace.owner_email, "password": "merkato-demo"}
    )
    assert token_request.status_code == 403

    # the OpenAPI document describes the API to anyone, whatever the plan
    schema = await browser.get("/api/v1/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/suppliers" in schema.json()["paths"]
    # and the pages are not the API: the staff app works on every plan
    assert (await browser.login(workspace.owner_email)).status_code in (302, 303)
    assert (await browser.get("/")).status_code == 200


# --- racing for the last seat ---------------------------------------------------------------------


async def _try_add(db: Database, workspace: Workspace, local: str) -> UUID:
    async with db.transaction(workspace.context) as session:
        form = PersonForm(email=workspace.email(local), full_name=local.title(), roles=["buyer"])
        return (await add_person(session, form, kind=MembershipKind.STAFF)).id


async def test_two_requests_for_the_last_seat_get_one(db: Database, starter: Workspace) -> None:
    for n in range(3):
        await add_member(db, starter, f"staff{n}", roles=("buyer",))
    assert await usage_of(db, starter, Limit.STAFF_SEATS) == 4
    for round_ in range(5):
        results = await asyncio.gather(
            _try_add(db, starter, f"racer{round_}a"), _try_add(db, starter, f"racer{round_}b"), return_exceptions=True
        )
        won = [r for r in results if isinstance(r, UUID)]
        lost = [r for r in results if isinstance(r, LimitReached)]
        assert (len(won), len(lost)) == (1, 1), results
        assert await usage_of(db, starter, Limit.STAFF_SEATS) == 5
        # free the seat again for the next round
        async with db.transaction(starter.context) as session:
            winner = await session.get(Membership, (starter.id, won[0]))
            assert winner is not None
            await set_active(session, winner, False)


async def test_many_suppliers_at_once_never_exceed_the_limit(db: Database, starter: Workspace) -> None:
    allowed = STARTER.limit(Limit.ACTIVE_SUPPLIERS)
    assert allowed is not None
    for n in range(allowed - 3):
        await new_supplier(db, starter, f"Early {n}")

    async def one(n: int) -> UUID:
        async with db.transaction(starter.context) as session:
            return (await create_supplier(session, party_form(f"Racing {n}"))).id

    results = await asyncio.gather(*(one(n) for n in range(8)), return_exceptions=True)
    assert sum(isinstance(r, UUID) for r in results) == 3, results
    assert all(isinstance(r, (UUID, LimitReached)) for r in results), results
    assert await usage_of(db, starter, Limit.ACTIVE_SUPPLIERS) == allowed
