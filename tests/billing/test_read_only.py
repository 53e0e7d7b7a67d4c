"""Read-only mode over the whole route table: a workspace whose subscription is unpaid refuses
every request that could change something (except the few exempt ones, listed here), changes
nothing, and says why in a banner fitting the reader; paying opens it again at once.

"Changes nothing" is checked over every tenant table of the catalog, by contents, so a refused
request that inserted, updated or deleted any row of the workspace anywhere is caught."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from backend.authz.workspace import BILLING_EXEMPT, SAFE_METHODS
from backend.models import MembershipKind
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
    update_tenant,
    workspace_rows,
)
from tests.fixtures.transactions import rolled_back
from tests.web.conftest import Browser, api_token

# The handlers that must work in read-only mode: they change a person's session or credentials,
# or are the way to pay. Anything else that writes is refused.
EXEMPT_AUTH = {
    ("POST", "/login"),
    ("POST", "/logout"),
    ("POST", "/lang"),
    ("POST", "/account/set-password"),
    ("POST", "/account/forgot-password"),
    ("POST", "/account/unlock"),
    ("POST", "/api/v1/token"),
}
BILLING_PREFIX = "/admin/billing/"

# the read-only page (errors/read_only.html), not merely the banner every page shows in this state
READ_ONLY_HEADING = "<h1>Temporarily unavailable for changes</h1>"
READ_ONLY_STAFF_TEXT = "the owner can restore it on the billing page"
NEUTRAL_TEXT = "temporarily unavailable for changes"
PARAM = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    exempt: bool


def routes(app: HostDispatcher) -> list[Route]:
    """Every (method, path) of the tenant app with its handler's billing exemption."""
    found = []
    for route in app.tenant.routes:  # type: ignore[attr-defined]
        for handler in getattr(route, "route_handlers", ()):
            for method in sorted(handler.http_methods):
                found.append(Route(method, route.path, bool(handler.opt.get(BILLING_EXEMPT))))
    return found


def writes(app: HostDispatcher) -> list[Route]:
    return [r for r in routes(app) if r.method not in SAFE_METHODS]


@dataclass(frozen=True)
class Setup:
    workspace: Workspace
    admin: UUID
    viewer: UUID
    supplier_id: UUID
    customer_id: UUID
    supplier_email: str


@pytest.fixture(scope="module")
async def ro(db: Database, demo: Any) -> Setup:
    """An active workspace with an owner, an administrator, a viewer, a supplier (with a portal
    user) and a customer; each test puts it in the subscription state it is about."""
    workspace = await new_workspace(db, "ro")
    admin = await add_member(db, workspace, "admin", roles=("admin",), login=True)
    viewer = await add_member(db, workspace, "viewer", roles=("viewer",), login=True)
    supplier_id = await new_supplier(db, workspace, "Read-only Supplier GmbH")
    customer_id = await new_customer(db, workspace, "Read-only Customer Ltd")
    await add_member(db, workspace, "supplier", MembershipKind.SUPPLIER, login=True, supplier_id=supplier_id)
    return Setup(workspace, admin, viewer, supplier_id, customer_id, workspace.email("supplier"))


async def set_subscription(
    db: Database, app: HostDispatcher, ro: Setup, status: str | None, past_due_since: datetime | None = None
) -> None:
    """As the billing worker leaves the tenant, then the directory forgets it (as billing does)."""
    await update_tenant(db, ro.workspace.id, subscription_status=status, past_due_since=past_due_since)
    app.directory.forget(ro.workspace.slug)


def concrete(route: Route, ro: Setup) -> str:
    """The route's path with real objects of the workspace where there are some (so a write that
    got through would really change something), any uuid elsewhere."""
    known = {
        "membership_id": str(ro.viewer),
        "party_id": str(ro.customer_id if route.template.startswith("/customers") else ro.supplier_id),
        "supplier_id": str(ro.supplier_id),
        "customer_id": str(ro.customer_id),
    }
    return PARAM.sub(lambda m: known.get(m.group(1), str(uuid4())), route.template)


def form_for(template: str) -> dict[str, Any]:
    """A valid body where the route takes one: refused, it must still change nothing."""
    person = {"email": f"new-{uuid4().hex[:6]}@example.com", "full_name": "New Person"}
    party = {"name": "Would-be Party", "country": "DE", "currency": "EUR"}
    return {
        "/admin/users": {**person, "roles": "buyer"},
        "/admin/users/{membership_id:uuid}/roles": {"roles": "buyer"},
        "/suppliers": party,
        "/customers": party,
        "/suppliers/{party_id:uuid}/users": person,
        "/customers/{party_id:uuid}/users": person,
        "/lang": {"locale": "en", "next": "/"},
    }.get(template, {})


async def call(browser: Browser, token: str, route: Route, path: str) -> httpx.Response:
    if path.startswith("/api/"):
        body = {"name": "Would-be Supplier", "country": "DE", "currency": "EUR"}
        return await browser.client.request(route.method, path, headers={"authorization": f"Bearer {token}"}, json=body)
    if route.method == "POST":
        return await browser.post_form(path, form_for(route.template))
    return await browser.client.request(route.method, path)


def is_read_only_refusal(response: httpx.Response) -> bool:
    if response.status_code != 403:
        return False
    if response.request.url.path.startswith("/api/"):
        detail: str = response.json().get("detail", "")
        return detail == "This workspace is temporarily unavailable for changes."
    return READ_ONLY_HEADING in response.text and "read-only" in response.text and READ_ONLY_STAFF_TEXT in response.text


async def logged_in(browsers: Callable[[str], Browser], ro: Setup, email: str) -> Browser:
    browser = browsers(ro.workspace.host)
    response = await browser.login(email)
    assert response.status_code in (302, 303), response.text[:300]
    return browser


# --- the route table ------------------------------------------------------------------------------


def test_the_exempt_handlers_are_exactly_the_expected_ones(billing_app: HostDispatcher) -> None:
    all_writes = writes(billing_app)
    exempt = {(r.method, r.template) for r in all_writes if r.exempt}
    billing = {(r.method, r.template) for r in all_writes if r.template.startswith(BILLING_PREFIX)}
    assert billing, "the billing page's changes are routes of the tenant app"
    assert exempt == EXEMPT_AUTH | billing
    # and an exemption only ever matters for a write
    assert not [r for r in routes(billing_app) if r.exempt and r.method in SAFE_METHODS]


async def test_every_write_is_refused_and_changes_nothing(
    db: Database, billing_app: HostDispatcher, ro: Setup, browsers: Callable[[str], Browser]
) -> None:
    await set_subscription(db, billing_app, ro, "unpaid")
    owner = await logged_in(browsers, ro, ro.workspace.owner_email)
    token = await api_token(billing_app, ro.workspace.owner_email, host=ro.workspace.host)

    failures = []
    refused = 0
    for route in writes(billing_app):
        if route.exempt:
            continue
        path = concrete(route, ro)
        before = await workspace_rows(db, ro.workspace.id)
        response = await call(owner, token, route, path)
        after = await workspace_rows(db, ro.workspace.id)
        if not is_read_only_refusal(response):
            failures.append(f"{route.method} {path}: {response.status_code} {response.text[:200]}")
        if changed := sorted(table for table in before if after.get(table) != before[table]):
            failures.append(f"{route.method} {path} changed rows of {changed}")
        refused += 1
    assert not failures, "\n".join(failures)
    assert refused >= 14  # the table is not empty (users, parties, portal users, jobs, bell, documents, API)


async def test_reading_and_the_exempt_writes_still_work(
    db: Database, billing_app: HostDispatcher, ro: Setup, browsers: Callable[[str], Browser]
) -> None:
    await set_subscription(db, billing_app, ro, "unpaid")
    owner = await logged_in(browsers, ro, ro.workspace.owner_email)
    token = await api_token(billing_app, ro.workspace.owner_email, host=ro.workspace.host)
    failures = []
    for route in routes(billing_app):
        if route.method == "OPTIONS" or not (route.method in SAFE_METHODS or route.exempt):
            continue
        if route.template == "/logout":
            continue  # below, last
        path = concrete(route, ro)
        if route.template == "/static/{file_path:path}":
            path = "/static/app.css"
        response = await call(owner, token, route, path)
        if response.status_code >= 500 or is_read_only_refusal(response):
            failures.append(f"{route.method} {path}: {response.status_code}")
        if route.template == "/login":
            await owner.login(ro.workspace.owner_email)  # that call replaced the session
    assert not failures, "\n".join(failures)
    # the owner can reach the billing page, the way out of read-only mode
    assert (await owner.get("/admin/billing")).status_code == 200
    logout = await owner.post_form("/logout")
    assert logout.status_code in (302, 303)
    assert logout.headers["location"].startswith("/login")


async def test_banners_in_read_only_mode(
    db: Database, billing_app: HostDispatcher, ro: Setup, browsers: Callable[[str], Browser]
) -> None:
    await set_subscription(db, billing_app, ro, "unpaid")
    owner = await logged_in(browsers, ro, ro.workspace.owner_email)
    dashboard = await owner.get("/")
    assert dashboard.status_code == 200
    assert 'id="workspace-notice"' in dashboard.text
    assert 'data-kind="read_only"' in dashboard.text
    assert '<a href="/admin/billing" id="notice-billing-link">' in dashboard.text

    # an administrator is told, but billing is the owner's: no link
    admin = await logged_in(browsers, ro, ro.workspace.email("admin"))
    page = await admin.get("/")
    assert 'data-kind="read_only"' in page.text
    assert 'id="notice-billing-link"' not in page.text

    # a supplier's people learn only that changes are not possible now, not why
    supplier = await logged_in(browsers, ro, ro.supplier_email)
    portal = await supplier.get("/supplier")
    assert portal.status_code == 200
    assert 'data-kind="unavailable"' in portal.text
    assert NEUTRAL_TEXT in portal.text
    assert 'id="notice-billing-link"' not in portal.text
    assert "/admin/billing" not in portal.text
    assert "subscription" not in portal.text.lower()
    # ...and their own writes are refused with the same neutral words
    before = await workspace_rows(db, ro.workspace.id)
    refused = await supplier.post_form("/supplier/documents")
    assert refused.status_code == 403
    assert READ_ONLY_HEADING in refused.text
    assert "You can still view everything; please try again later." in refused.text
    assert "subscription" not in refused.text.lower()
    assert await workspace_rows(db, ro.workspace.id) == before


async def test_the_api_is_read_only_too_and_paying_opens_the_workspace_again(
    db: Database, billing_app: HostDispatcher, ro: Setup, browsers: Callable[[str], Browser]
) -> None:
    await set_subscription(db, billing_app, ro, "unpaid")
    token = await api_token(billing_app, ro.workspace.owner_email, host=ro.workspace.host)
    headers = {"authorization": f"Bearer {token}"}
    body = {"name": "API Supplier Co.", "country": "CN", "currency": "CNY"}
    owner = await logged_in(browsers, ro, ro.workspace.owner_email)
    api = owner.client

    before = await workspace_rows(db, ro.workspace.id)
    refused = await api.post("/api/v1/suppliers", json=body, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["detail"] == "This workspace is temporarily unavailable for changes."
    assert (await api.get("/api/v1/suppliers", headers=headers)).status_code == 200  # reading works
    page = await owner.post_form("/suppliers/", {"name": "Page Supplier", "country": "DE", "currency": "EUR"})
    assert page.status_code == 403
    assert await workspace_rows(db, ro.workspace.id) == before

    # paid: Stripe says active, the worker updates the tenant and the directory forgets it
    await set_subscription(db, billing_app, ro, "active")
    created = await api.post("/api/v1/suppliers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "API Supplier Co."
    page = await owner.post_form("/suppliers/", {"name": "Page Supplier", "country": "DE", "currency": "EUR"})
    assert page.status_code in (302, 303), page.text[:300]
    after = await counts(db, ro.workspace.id)
    assert after["suppliers"] == before["suppliers"][0] + 2
    assert 'id="workspace-notice"' not in (await owner.get("/")).text


async def test_past_due_inside_the_grace_period(
    db: Database, billing_app: HostDispatcher, ro: Setup, browsers: Callable[[str], Browser]
) -> None:
    grace = billing_app.tenant.state.settings.billing_grace  # type: ignore[attr-defined]
    await set_subscription(db, billing_app, ro, "past_due", datetime.now(UTC) - timedelta(days=1))
    owner = await logged_in(browsers, ro, ro.workspace.owner_email)
    page = await owner.get("/")
    assert 'data-kind="past_due"' in page.text
    assert 'id="notice-billing-link"' in page.text
    admin = await logged_in(browsers, ro, ro.workspace.email("admin"))
    assert 'data-kind="past_due"' in (await admin.get("/")).text
    viewer = await logged_in(browsers, ro, ro.workspace.email("viewer"))
    viewer_page = await viewer.get("/")
    assert viewer_page.status_code == 200
    assert 'id="workspace-notice"' not in viewer_page.text
    supplier = await logged_in(browsers, ro, ro.supplier_email)
    assert 'id="workspace-notice"' not in (await supplier.get("/supplier")).text

    # writes still work during the grace period
    before = await counts(db, ro.workspace.id)
    created = await owner.post_form("/customers/", {"name": "Grace Customer", "country": "US", "currency": "USD"})
    assert created.status_code in (302, 303), created.text[:300]
    assert (await counts(db, ro.workspace.id))["customers"] == before["customers"] + 1

    # the grace period ends on the clock, with no event: read-only from then on
    await set_subscription(db, billing_app, ro, "past_due", datetime.now(UTC) - grace - timedelta(minutes=1))
    before_refusal = await workspace_rows(db, ro.workspace.id)
    refused = await owner.post_form("/customers/", {"name": "Late Customer", "country": "US", "currency": "USD"})
    assert is_read_only_refusal(refused)
    assert await workspace_rows(db, ro.workspace.id) == before_refusal
    assert 'data-kind="read_only"' in (await owner.get("/")).text
    await set_subscription(db, billing_app, ro, "active")


async def test_changes_nothing_means_no_row_changed_anywhere(db: Database, ro: Setup) -> None:
    """The comparison the tests above rely on tells an UPDATE that keeps every count, in any table."""
    before = await workspace_rows(db, ro.workspace.id)
    assert set(before) >= {"suppliers", "memberships", "web_sessions", "audit_events", "notifications"}
    async with rolled_back(db, TenantContext.system(ro.workspace.id)) as session:
        await session.execute(text("UPDATE suppliers SET city = 'Elsewhere' WHERE id = :id"), {"id": ro.supplier_id})
        inside = await workspace_rows(db, ro.workspace.id)  # another transaction: sees nothing yet
        assert inside == before
    async with db.transaction(TenantContext.system(ro.workspace.id)) as session:
        city = await session.scalar(text("SELECT city FROM suppliers WHERE id = :id"), {"id": ro.supplier_id})
        await session.execute(text("UPDATE suppliers SET city = 'Elsewhere' WHERE id = :id"), {"id": ro.supplier_id})
    try:
        after = await workspace_rows(db, ro.workspace.id)
        assert [table for table in before if after[table] != before[table]] == ["suppliers"]
        assert after["suppliers"][0] == before["suppliers"][0]  # same count, other contents
    finally:
        async with db.transaction(TenantContext.system(ro.workspace.id)) as session:
            await session.execute(
                text("UPDATE suppliers SET city = :c WHERE id = :id"), {"c": city, "id": ro.supplier_id}
            )
    assert await workspace_rows(db, ro.workspace.id) == before
