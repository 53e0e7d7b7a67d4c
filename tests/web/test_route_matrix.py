"""Authorization matrix: every registered route × every kind of caller against a declarative
table of what each may get. A route that is not in the table fails the test, so a new route
cannot ship without someone deciding who may use it.

Outcomes: OK = served (any status but 401/403/404 and no bounce to the login page),
LOGIN = must log in first (401, or the login page for a browser), NOT_FOUND = 404 (wrong
audience, other tenant or other party: the same answer as a missing object), DENIED = 403
(right audience, missing permission).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import delete, update

from backend.dev.demo import DEMO_PASSWORD
from backend.documents.storage import storage_from
from backend.models import (
    Document,
    DocumentStatus,
    JobStatus,
    MailStatus,
    Notification,
    OutboxJob,
    OutgoingMail,
    SupplierDocument,
    Tenant,
)
from tenants.context import NO_CONTEXT, TenantContext
from tests.web.conftest import Browser, api_token

OK, LOGIN, NOT_FOUND, DENIED = "ok", "login", "404", "403"
CALLERS = ("anonymous", "admin", "viewer", "supplier_a", "supplier_b", "customer_a", "customer_b", "other_tenant")
LOGINS = {
    "admin": "admin@acme.test",
    "viewer": "viewer@acme.test",
    "supplier_a": "supplier@acme.test",
    "supplier_b": "supplier2@acme.test",
    "customer_a": "customer@acme.test",
    "customer_b": "customer2@acme.test",
}


def row(anonymous: str, admin: str, viewer: str, sa: str, sb: str, ca: str, cb: str, other: str) -> dict[str, str]:
    return dict(zip(CALLERS, (anonymous, admin, viewer, sa, sb, ca, cb, other), strict=True))


EVERYONE = row(OK, OK, OK, OK, OK, OK, OK, OK)
STAFF_VIEW = row(LOGIN, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN)
STAFF_ADMIN = row(LOGIN, OK, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN)
SUPPLIERS_ONLY = row(LOGIN, NOT_FOUND, NOT_FOUND, OK, OK, NOT_FOUND, NOT_FOUND, LOGIN)
CUSTOMERS_ONLY = row(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK, LOGIN)
ANY_MEMBER = row(LOGIN, OK, OK, OK, OK, OK, OK, LOGIN)

# (method, route path as registered) -> expected outcome per caller, on a tenant host (acme).
TENANT_ROUTES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): EVERYONE,
    ("POST", "/lang"): EVERYONE,
    ("GET", "/auth/ticket"): EVERYONE,
    # one-time links from e-mails, and asking for one: nobody needs to be logged in
    ("GET", "/account/set-password"): EVERYONE,
    ("POST", "/account/set-password"): EVERYONE,
    ("GET", "/account/forgot-password"): EVERYONE,
    ("POST", "/account/forgot-password"): EVERYONE,
    ("GET", "/account/verify"): EVERYONE,
    # the bell: every member's own notifications; MATRIX_NOTIFICATION is the acme admin's
    ("GET", "/notifications"): ANY_MEMBER,
    ("GET", "/notifications/bell"): ANY_MEMBER,
    ("POST", "/notifications/read-all"): ANY_MEMBER,
    ("POST", "/notifications/{notification_id:uuid}/read"): row(
        LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/static/{file_path:path}"): EVERYONE,
    ("HEAD", "/static/{file_path:path}"): EVERYONE,
    ("GET", "/"): STAFF_VIEW,
    ("GET", "/items"): STAFF_VIEW,
    ("GET", "/admin/users"): STAFF_ADMIN,
    ("POST", "/admin/users"): STAFF_ADMIN,
    ("GET", "/suppliers"): STAFF_VIEW,
    ("POST", "/suppliers"): STAFF_ADMIN,
    ("GET", "/suppliers/new"): STAFF_ADMIN,
    ("GET", "/suppliers/{party_id:uuid}"): STAFF_VIEW,
    ("POST", "/suppliers/{party_id:uuid}/users"): STAFF_ADMIN,
    # the supplier master: list export, review queue, and supplier A's 360 page decisions
    ("GET", "/suppliers/export.csv"): STAFF_VIEW,
    ("GET", "/suppliers/registrations"): STAFF_VIEW,
    # supplier A has no registration: the admin's 404 comes from the lookup, the viewer is refused before it
    ("POST", "/suppliers/{party_id:uuid}/registration"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    # SUPPLIER_DOCUMENT_ID, supplier A's: the empty form names no decision (400), so nothing changes
    ("POST", "/suppliers/{party_id:uuid}/documents/{document_id:uuid}/review"): STAFF_ADMIN,
    ("GET", "/suppliers/{party_id:uuid}/documents/{document_id:uuid}/file"): STAFF_VIEW,
    # no such change request; the admin (an owner) holds the permission, the viewer does not
    ("POST", "/suppliers/{party_id:uuid}/changes/{change_id:uuid}"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    ("POST", "/suppliers/{party_id:uuid}/risk"): STAFF_ADMIN,  # no tier, no reason: 400, nothing changes
    ("POST", "/suppliers/{party_id:uuid}/status"): STAFF_ADMIN,  # no action: 400, nothing changes
    # onboarding set-up: empty forms are refused (400); no such category or requirement: the
    # admin's 404, after the viewer's 403
    ("GET", "/suppliers/setup"): STAFF_ADMIN,
    ("POST", "/suppliers/setup/categories"): STAFF_ADMIN,
    ("POST", "/suppliers/setup/terms"): STAFF_ADMIN,
    # the admin's POST carries no format: the acme demo would stop taking office documents, so
    # the test puts them back (restore_office_formats)
    ("POST", "/suppliers/setup/uploads"): STAFF_ADMIN,
    ("POST", "/suppliers/setup/categories/{category_id:uuid}/requirements"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    ("POST", "/suppliers/setup/requirements/{requirement_id:uuid}/remove"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    # inviting a supplier: the empty form is refused (400), nothing is created; supplier A was
    # not invited, so sending its invitation again is the admin's 404, after the viewer's 403
    ("GET", "/suppliers/invite"): STAFF_ADMIN,
    ("POST", "/suppliers/invite"): STAFF_ADMIN,
    ("POST", "/suppliers/{party_id:uuid}/invitation"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    ("GET", "/customers"): STAFF_VIEW,
    ("POST", "/customers"): STAFF_ADMIN,
    ("GET", "/customers/new"): STAFF_ADMIN,
    ("GET", "/customers/{party_id:uuid}"): STAFF_VIEW,
    ("POST", "/customers/{party_id:uuid}/users"): STAFF_ADMIN,
    ("GET", "/admin/jobs"): STAFF_ADMIN,
    ("GET", "/admin/mail"): STAFF_ADMIN,
    ("GET", "/admin/mail/{mail_id:uuid}"): STAFF_ADMIN,  # MATRIX_MAIL, kept in acme
    ("GET", "/admin/audit"): STAFF_ADMIN,
    # on the admin's own membership: refused (no roles, not oneself) or a no-op, so the matrix changes nothing
    ("POST", "/admin/users/{membership_id:uuid}/roles"): STAFF_ADMIN,
    ("POST", "/admin/users/{membership_id:uuid}/deactivate"): STAFF_ADMIN,
    ("POST", "/admin/users/{membership_id:uuid}/reactivate"): STAFF_ADMIN,
    # no such job: the admin's 404 comes from the lookup, the viewer is refused before it
    ("POST", "/admin/jobs/{job_id:str}/retry"): row(
        LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    # billing: the owner's alone (the demo admin is an owner); billing is off in these tests, so
    # the changes answer 404 to the owner, after the viewer's 403
    ("GET", "/admin/billing"): STAFF_ADMIN,
    ("POST", "/admin/billing/plan"): row(LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("POST", "/admin/billing/cancel"): row(LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("POST", "/admin/billing/resume"): row(LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("POST", "/admin/billing/portal"): row(LOGIN, NOT_FOUND, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("GET", "/supplier"): SUPPLIERS_ONLY,
    # supplier A's document (see supplier_a_document): staff who may see suppliers, and supplier A's own people
    ("GET", "/documents/{document_id:uuid}"): row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("POST", "/suppliers/{party_id:uuid}/documents"): STAFF_VIEW,
    ("POST", "/supplier/documents"): SUPPLIERS_ONLY,
    # the supplier's own company pages: its people only (party scope inside)
    ("GET", "/supplier/company"): SUPPLIERS_ONLY,
    ("POST", "/supplier/company"): SUPPLIERS_ONLY,
    ("POST", "/supplier/company/changes"): SUPPLIERS_ONLY,
    ("POST", "/supplier/company/bank"): SUPPLIERS_ONLY,
    ("POST", "/supplier/company/documents"): SUPPLIERS_ONLY,
    ("POST", "/supplier/company/colleagues"): SUPPLIERS_ONLY,
    # the admin's own membership here: a supplier's people get 404 for it (not their colleague)
    ("POST", "/supplier/company/colleagues/{membership_id:uuid}"): row(
        LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    # SUPPLIER_DOCUMENT_ID is supplier A's: its own people only
    ("GET", "/supplier/company/documents/{document_id:uuid}/file"): row(
        LOGIN, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN
    ),
    # self-registration is public: the draft is reached through its signed cookie, which no caller
    # here has, so every step sends them back to the start (or refuses the empty form)
    ("GET", "/supplier/register"): EVERYONE,
    ("POST", "/supplier/register"): EVERYONE,
    ("POST", "/supplier/register/continue"): EVERYONE,
    ("GET", "/supplier/register/draft"): EVERYONE,
    ("POST", "/supplier/register/company"): EVERYONE,
    ("POST", "/supplier/register/contacts"): EVERYONE,
    ("POST", "/supplier/register/categories"): EVERYONE,
    ("POST", "/supplier/register/bank"): EVERYONE,
    ("POST", "/supplier/register/documents"): EVERYONE,
    ("POST", "/supplier/register/terms"): EVERYONE,
    ("POST", "/supplier/register/submit"): EVERYONE,
    # an invitation link is its signed token: a forged one is a missing invitation, for anyone
    ("GET", "/supplier/register/invitation/{token:str}"): row(*[NOT_FOUND] * len(CALLERS)),
    ("POST", "/supplier/register/invitation/{token:str}"): row(*[NOT_FOUND] * len(CALLERS)),
    ("GET", "/customer"): CUSTOMERS_ONLY,
    ("POST", "/api/v1/token"): EVERYONE,
    ("GET", "/api/v1/me"): ANY_MEMBER,
    # lists are open to every member; the repository shows a party user only their own company
    ("GET", "/api/v1/suppliers"): ANY_MEMBER,
    ("GET", "/api/v1/customers"): ANY_MEMBER,
    # one object: supplier A's own record, customer A's own record
    ("POST", "/api/v1/suppliers"): row(LOGIN, OK, DENIED, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("GET", "/api/v1/suppliers/{supplier_id:uuid}"): row(LOGIN, OK, OK, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN),
    ("GET", "/api/v1/customers/{customer_id:uuid}"): row(LOGIN, OK, OK, NOT_FOUND, NOT_FOUND, OK, NOT_FOUND, LOGIN),
}
# The OpenAPI document and its viewers are public.
PUBLIC_PREFIXES = ("/api/v1/schema",)

APEX_CALLERS = ("anonymous", "identity")
# (method, path) -> {caller: outcome} on the apex host; "identity" is logged in as supplier@acme.test.
APEX_ROUTES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/"): {"anonymous": OK, "identity": OK},
    ("GET", "/login"): {"anonymous": OK, "identity": OK},
    ("POST", "/login"): {"anonymous": OK, "identity": OK},
    ("POST", "/logout"): {"anonymous": OK, "identity": OK},
    ("POST", "/lang"): {"anonymous": OK, "identity": OK},
    ("GET", "/healthz"): {"anonymous": OK, "identity": OK},
    ("GET", "/readyz"): {"anonymous": OK, "identity": OK},
    ("GET", "/static/{file_path:path}"): {"anonymous": OK, "identity": OK},
    ("HEAD", "/static/{file_path:path}"): {"anonymous": OK, "identity": OK},
    ("GET", "/workspaces"): {"anonymous": LOGIN, "identity": OK},
    ("POST", "/workspaces/{slug:str}"): {"anonymous": LOGIN, "identity": OK},
    ("GET", "/pricing"): {"anonymous": OK, "identity": OK},
    ("GET", "/signup"): {"anonymous": OK, "identity": OK},
    ("GET", "/signup/slug"): {"anonymous": OK, "identity": OK},
    ("POST", "/signup"): {"anonymous": OK, "identity": OK},  # an empty form: 400 with field messages
    # a workspace being set up is its owner's alone: for anyone else it does not exist
    ("GET", "/signup/{tenant_id:uuid}/ready"): {"anonymous": LOGIN, "identity": NOT_FOUND},
    ("GET", "/signup/{tenant_id:uuid}/enter"): {"anonymous": LOGIN, "identity": NOT_FOUND},
    ("POST", "/signup/{tenant_id:uuid}/checkout"): {"anonymous": LOGIN, "identity": NOT_FOUND},
    # no signature: 400, and nothing stored
    ("POST", "/webhooks/stripe"): {"anonymous": OK, "identity": OK},
}

FORM_BODIES = {"/lang": {"locale": "en", "next": "/"}}
JSON_BODIES = {"/api/v1/token": {"email": "admin@acme.test", "password": DEMO_PASSWORD}}


# A pending account summary of supplier A in acme, made without a render job so nothing renders it.
DOCUMENT_ID = "0192f7a0-0000-7000-8000-00000000d0c5"


@pytest.fixture(scope="module", autouse=True)
async def supplier_a_document(db: Any, demo: Any) -> AsyncIterator[None]:
    acme = demo.tenants["acme"]
    supplier_a = acme.supplier_ids[0]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        session.add(
            Document(
                tenant_id=acme.id,
                id=UUID(DOCUMENT_ID),
                kind="supplier_summary",
                object_type="supplier",
                object_id=supplier_a,
                supplier_id=supplier_a,
                locale="en",
                status=DocumentStatus.PENDING,
                filename="supplier-summary.pdf",
            )
        )
    yield
    # Supplier A's documents of this module (this one, and those the POST rows asked for) go,
    # with their render jobs: another module's "a pending one is reused" must not find them.
    async with db.transaction(TenantContext.system(acme.id)) as session:
        ids = list(
            await session.scalars(delete(Document).where(Document.supplier_id == supplier_a).returning(Document.id))
        )
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.key.in_([f"documents.render:{i}" for i in ids]), OutboxJob.status == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


# A qualification document of supplier A in acme, waiting for review, with its bytes in storage.
SUPPLIER_DOCUMENT_ID = "0192f7a0-0000-7000-8000-0000000005d0"


@pytest.fixture(scope="module", autouse=True)
async def supplier_a_qualification_document(app: Any, db: Any, demo: Any) -> AsyncIterator[None]:
    acme = demo.tenants["acme"]
    key = f"{acme.id}/route-matrix.pdf"
    await storage_from(app.tenant.state.settings).put(key, b"%PDF-1.7 route matrix")
    async with db.transaction(TenantContext.system(acme.id)) as session:
        session.add(
            SupplierDocument(
                tenant_id=acme.id,
                id=UUID(SUPPLIER_DOCUMENT_ID),
                supplier_id=acme.supplier_ids[0],
                document_type="route_matrix",
                version=1,
                filename="route-matrix.pdf",
                storage_key=key,
                mime_type="application/pdf",
                size=21,
                sha256="0" * 64,
            )
        )
    yield
    async with db.transaction(TenantContext.system(acme.id)) as session:
        await session.execute(delete(SupplierDocument).where(SupplierDocument.id == UUID(SUPPLIER_DOCUMENT_ID)))


@pytest.fixture(scope="module", autouse=True)
async def restore_office_formats(db: Any, demo: Any) -> AsyncIterator[None]:
    """The admin's empty POST to /suppliers/setup/uploads is a valid choice (no office formats):
    acme gets its formats back afterwards."""
    yield
    async with db.transaction(NO_CONTEXT) as session:
        await session.execute(
            update(Tenant).where(Tenant.id == demo.tenants["acme"].id).values(supplier_office_formats=["docx", "xlsx"])
        )


# A kept e-mail in acme and a notification of acme's admin, for the routes that open one.
MATRIX_MAIL = "0192f7a0-0000-7000-8000-00000000a11a"
MATRIX_NOTIFICATION = "0192f7a0-0000-7000-8000-00000000be11"


@pytest.fixture(scope="module", autouse=True)
async def mail_and_notification(db: Any, demo: Any) -> None:
    acme = demo.tenants["acme"]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        session.add(
            OutgoingMail(
                tenant_id=acme.id,
                id=UUID(MATRIX_MAIL),
                to_address="someone@example.com",
                subject="Route matrix",
                text_body="Hello",
                html_body="<p>Hello</p>",
                template="invitation",
                locale="en",
                status=MailStatus.KEPT,
            )
        )
        session.add(
            Notification(
                tenant_id=acme.id,
                id=UUID(MATRIX_NOTIFICATION),
                membership_id=acme.membership("admin"),
                title="Route matrix",
            )
        )


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str


def registered(litestar_app: Any) -> list[Endpoint]:
    found = []
    for route in litestar_app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method != "OPTIONS":
                found.append(Endpoint(method, route.path))
    return found


def concrete_path(template: str, demo: Any) -> str:
    acme = demo.tenants["acme"]
    supplier_a, customer_a = str(acme.supplier_ids[0]), str(acme.customer_ids[0])
    path = (
        template.replace("{file_path:path}", "app.css")
        .replace("{slug:str}", "acme")
        .replace("{token:str}", "forged.4102444800.0")
        .replace("{path:str}", "openapi.json")
        .replace("{job_id:str}", "0192f7a0-0000-7000-8000-000000000000")
        .replace("{membership_id:uuid}", str(acme.membership("admin")))
        .replace("/documents/{document_id:uuid}/", f"/documents/{SUPPLIER_DOCUMENT_ID}/")  # the supplier's own
        .replace("{document_id:uuid}", DOCUMENT_ID)
        .replace("{change_id:uuid}", "0192f7a0-0000-7000-8000-00000000c4a6")
        .replace("{category_id:uuid}", "0192f7a0-0000-7000-8000-0000000ca7e9")
        .replace("{requirement_id:uuid}", "0192f7a0-0000-7000-8000-00000000e9d1")
        .replace("{mail_id:uuid}", MATRIX_MAIL)
        .replace("{notification_id:uuid}", MATRIX_NOTIFICATION)
        .replace("{tenant_id:uuid}", str(acme.id))  # a workspace the apex identity does not own
    )
    path = path.replace("{supplier_id:uuid}", supplier_a).replace("{customer_id:uuid}", customer_a)
    if path.startswith("/suppliers/"):
        path = path.replace("{party_id:uuid}", supplier_a)
    return path.replace("{party_id:uuid}", customer_a)


def outcome(response: httpx.Response) -> str:
    status = response.status_code
    if status == 401 or (status in (302, 303) and response.headers["location"].startswith("/login?")):
        return LOGIN
    if status == 404:
        return NOT_FOUND
    if status == 403:
        return DENIED
    assert status < 500, f"{response.request.method} {response.request.url} -> {status}: {response.text[:300]}"
    return OK


async def call(caller: Browser, bearer: str | None, endpoint: Endpoint, path: str) -> httpx.Response:
    if path.startswith("/api/"):
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        return await caller.client.request(endpoint.method, path, headers=headers, json=JSON_BODIES.get(path))
    if endpoint.method == "POST":
        return await caller.post_form(path, FORM_BODIES.get(endpoint.template, {}))
    return await caller.client.request(endpoint.method, path)


async def test_every_tenant_route_is_in_the_table(app: Any) -> None:
    missing = [
        f"{e.method} {e.template}"
        for e in registered(app.tenant)
        if (e.method, e.template) not in TENANT_ROUTES and not e.template.startswith(PUBLIC_PREFIXES)
    ]
    assert not missing, f"routes without a row in the authorization table: {missing}"
    stale = set(TENANT_ROUTES) - {(e.method, e.template) for e in registered(app.tenant)}
    assert not stale, f"rows for routes that no longer exist: {stale}"


async def test_every_apex_route_is_in_the_table(app: Any) -> None:
    missing = [f"{e.method} {e.template}" for e in registered(app.apex) if (e.method, e.template) not in APEX_ROUTES]
    assert not missing, f"apex routes without a row in the authorization table: {missing}"


@pytest.fixture(scope="module")
async def callers(app: Any, demo: Any) -> dict[str, tuple[Browser, str | None]]:
    """Each caller as a browser with a session on acme, plus a bearer token for the API."""
    made: dict[str, tuple[Browser, str | None]] = {"anonymous": (Browser(app, "acme.localhost"), None)}
    for name, email in LOGINS.items():
        browser = Browser(app, "acme.localhost")
        assert (await browser.login(email)).status_code in (302, 303)
        made[name] = (browser, await api_token(app, email))
    # A globex admin presents their globex session cookie and globex token to acme.
    globex = Browser(app, "globex.localhost")
    assert (await globex.login("admin@globex.test")).status_code in (302, 303)
    intruder = Browser(app, "acme.localhost")
    intruder.client.cookies.set("merkato_session", globex.client.cookies["merkato_session"])
    made["other_tenant"] = (intruder, await api_token(app, "admin@globex.test", host="globex.localhost"))
    made["globex_cookie"] = (globex, globex.client.cookies["merkato_session"])
    return made


async def test_tenant_route_matrix(app: Any, demo: Any, callers: dict[str, tuple[Browser, str | None]]) -> None:
    failures = []
    checked = 0
    for endpoint in registered(app.tenant):
        expected = TENANT_ROUTES.get((endpoint.method, endpoint.template))
        if expected is None:
            expected = EVERYONE  # the public OpenAPI routes (checked for presence above)
        path = concrete_path(endpoint.template, demo)
        for name in CALLERS:
            browser, bearer = callers[name]
            if name == "other_tenant":
                # present the globex session again: an earlier /logout or /login may have cleared it
                browser.client.cookies.set("merkato_session", callers["globex_cookie"][1] or "")
            got = outcome(await call(browser, bearer, endpoint, path))
            checked += 1
            if got != expected[name]:
                failures.append(f"{endpoint.method} {path} as {name}: expected {expected[name]}, got {got}")
            if endpoint.method == "POST" and endpoint.template in ("/logout", "/login") and name in LOGINS:
                # that call replaced or ended the caller's session; log in again for the next routes
                await browser.login(LOGINS[name])
    assert not failures, "\n".join(failures)
    assert checked >= len(TENANT_ROUTES) * len(CALLERS)


async def test_apex_route_matrix(app: Any, demo: Any) -> None:
    anonymous = Browser(app, "localhost")
    identity = Browser(app, "localhost")
    assert (await identity.login("supplier@acme.test")).headers["location"] == "/workspaces"
    failures = []
    for endpoint in registered(app.apex):
        path = re.sub(r"\{file_path:path\}", "app.css", endpoint.template).replace("{slug:str}", "acme")
        path = path.replace("{tenant_id:uuid}", str(demo.tenants["acme"].id))
        for name, browser in (("anonymous", anonymous), ("identity", identity)):
            got = outcome(await call(browser, None, endpoint, path))
            if got != APEX_ROUTES[(endpoint.method, endpoint.template)][name]:
                failures.append(f"apex {endpoint.method} {path} as {name}: got {got}")
            if endpoint.template in ("/logout", "/login") and name == "identity":
                await browser.login("supplier@acme.test")
    assert not failures, "\n".join(failures)
