"""Authorization matrix: every registered route × every kind of caller against a declarative
table of what each may get. A route that is not in the table fails the test, so a new route
cannot ship without someone deciding who may use it.

Callers: nobody logged in, one person of each staff role, one of each supplier role at supplier
A, supplier B's admin, customers A and B, and another tenant's admin. A route's row says what
permission staff (or a supplier's people) need, and backend/authz/roles.py's table then says
which of their roles get through (403 for the others), so the matrix cannot drift from the rules
it checks; tests/authz/test_roles.py pins who holds the permissions that were once checked by hand.
The menus are held to the same rows: each shows exactly the pages its person gets.

Outcomes: OK = served (a page, a redirect elsewhere than the login page, or the empty form
refused with 400), LOGIN = must log in first (401, or the login page for a browser), NOT_FOUND =
404 (wrong audience, other tenant or other party: the same answer as a missing object), DENIED =
403 (right audience, missing permission). Any other status fails the row as itself.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.authz.guards import Requires
from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, SupplierRole, permissions_of
from backend.dev.demo import DEMO_PASSWORD, DemoData
from backend.documents.storage import storage_from
from backend.models import (
    Document,
    DocumentStatus,
    JobStatus,
    MailStatus,
    MembershipKind,
    Notification,
    OutboxJob,
    OutgoingMail,
    SupplierDocument,
    Tenant,
)
from portals.shared.navigation import MENU, nav_for
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.people import Login, add_login, remove_people
from tests.web.conftest import Browser, api_token

OK, LOGIN, NOT_FOUND, DENIED = "ok", "login", "404", "403"
# What "served" may look like: a page, a redirect elsewhere than the login page, or the form
# refused with its messages (400: the handler was reached, which is what the matrix asks).
SERVED = frozenset({200, 201, 204, 302, 303, 307, 400})


@dataclass(frozen=True)
class Caller:
    """One row of the matrix: a kind of person on acme's host."""

    name: str
    audience: str  # "anonymous", "staff", "supplier", "customer" or "other_tenant"
    roles: tuple[str, ...] = ()
    party: int = 0  # for supplier and customer people: the demo's first (A, 0) or second (B, 1) party

    @property
    def email(self) -> str:
        return f"matrix-{self.name.replace('_', '-')}@acme.test"


CALLERS: tuple[Caller, ...] = (
    Caller("anonymous", "anonymous"),
    *(Caller(role.value, "staff", (role.value,)) for role in StaffRole),
    *(Caller(f"supplier_{role.value}", "supplier", (role.value,)) for role in SupplierRole),
    Caller("supplier_b", "supplier", (SupplierRole.ADMIN.value,), party=1),
    Caller("customer_a", "customer"),
    Caller("customer_b", "customer", party=1),
    # acme's host, with a globex admin's session cookie and globex API token
    Caller("other_tenant", "other_tenant"),
)
PEOPLE = tuple(caller for caller in CALLERS if caller.audience in ("staff", "supplier", "customer"))
OWNER = next(caller for caller in CALLERS if caller.roles == (StaffRole.OWNER.value,))
SUPPLIER_B = next(caller for caller in CALLERS if caller.audience == "supplier" and caller.party == 1)


@dataclass(frozen=True)
class Rule:
    """What each caller gets from one route. Outcomes follow backend/authz/roles.py: a staff
    member whose roles lack `needs` gets 403, the others get `staff`; a supplier's person whose
    roles lack `supplier_needs` (when given) gets 403. `only` names the callers that are exceptions."""

    anonymous: str
    staff: str
    supplier_a: str
    supplier_b: str
    customer_a: str
    customer_b: str
    other_tenant: str
    needs: Permission | None = None
    supplier_needs: Permission | None = None
    only: Mapping[str, str] = field(default_factory=dict)

    def but(self, **only: str) -> Rule:
        return replace(self, only={**self.only, **only})

    def expect(self, caller: Caller) -> str:
        if caller.name in self.only:
            return self.only[caller.name]
        if caller.audience == "staff":
            granted = permissions_of(MembershipKind.STAFF, caller.roles)
            return DENIED if self.needs is not None and self.needs not in granted else self.staff
        if caller.audience == "supplier":
            granted = permissions_of(MembershipKind.SUPPLIER, caller.roles)
            if self.supplier_needs is not None and self.supplier_needs not in granted:
                return DENIED
            return (self.supplier_a, self.supplier_b)[caller.party]
        if caller.audience == "customer":
            return (self.customer_a, self.customer_b)[caller.party]
        outcome: str = getattr(self, caller.audience)
        return outcome


def public(outcome: str = OK) -> Rule:
    return Rule(*[outcome] * 7)


def staff(needs: Permission | None = None, *, found: str = OK) -> Rule:
    """Staff holding `needs` get `found` (404: the object asked for is not there); other
    audiences' people get 404, as for a page that does not exist."""
    return Rule(LOGIN, found, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, LOGIN, needs=needs)


def suppliers(needs: Permission | None = None, *, a: str = OK, b: str = OK) -> Rule:
    """A supplier's people (holding `needs`, if named): `a` for supplier A's, `b` for B's."""
    return Rule(LOGIN, NOT_FOUND, a, b, NOT_FOUND, NOT_FOUND, LOGIN, supplier_needs=needs)


def customers() -> Rule:
    return Rule(LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK, LOGIN)


def members(
    needs: Permission | None = None,
    *,
    found: str = OK,
    supplier_a: str = OK,
    supplier_b: str = OK,
    customer_a: str = OK,
    customer_b: str = OK,
) -> Rule:
    """Every member of the tenant, staff holding `needs`; the party people as given."""
    return Rule(LOGIN, found, supplier_a, supplier_b, customer_a, customer_b, LOGIN, needs=needs)


# (method, route path as registered) -> who gets what, on a tenant host (acme).
TENANT_ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/login"): public(),
    ("POST", "/login"): public(),
    ("POST", "/logout"): public(),
    ("POST", "/lang"): public(),
    ("GET", "/auth/ticket"): public(),
    # one-time links from e-mails, and asking for one: nobody needs to be logged in
    ("GET", "/account/set-password"): public(),
    ("POST", "/account/set-password"): public(),
    ("GET", "/account/forgot-password"): public(),
    ("POST", "/account/forgot-password"): public(),
    # finishing a login that was shielded by an e-mailed link
    ("GET", "/account/unlock"): public(),
    ("POST", "/account/unlock"): public(),
    # step 1 of entering from the apex: this host's binding cookie, then to the apex
    ("GET", "/auth/enter"): public(),
    # the bell: every member's own notifications; MATRIX_NOTIFICATION is the owner's
    ("GET", "/notifications"): members(),
    ("GET", "/notifications/bell"): members(),
    ("POST", "/notifications/read-all"): members(),
    ("POST", "/notifications/{notification_id:uuid}/read"): members(
        found=NOT_FOUND, supplier_a=NOT_FOUND, supplier_b=NOT_FOUND, customer_a=NOT_FOUND, customer_b=NOT_FOUND
    ).but(**{OWNER.name: OK}),
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public(),
    ("GET", "/static/{file_path:path}"): public(),
    ("HEAD", "/static/{file_path:path}"): public(),
    ("GET", "/"): staff(),
    ("GET", "/items"): staff(Permission.VIEW_ITEMS),
    ("GET", "/admin/users"): staff(Permission.MANAGE_USERS),
    ("POST", "/admin/users"): staff(Permission.MANAGE_USERS),
    ("GET", "/suppliers"): staff(Permission.VIEW_SUPPLIERS),
    ("POST", "/suppliers"): staff(Permission.MANAGE_SUPPLIERS),
    ("GET", "/suppliers/new"): staff(Permission.MANAGE_SUPPLIERS),
    ("GET", "/suppliers/{party_id:uuid}"): staff(Permission.VIEW_SUPPLIERS),
    ("POST", "/suppliers/{party_id:uuid}/users"): staff(Permission.MANAGE_SUPPLIERS),
    # the supplier master: list export, review queue, and supplier A's 360 page decisions
    ("GET", "/suppliers/export.csv"): staff(Permission.VIEW_SUPPLIERS),
    ("GET", "/suppliers/registrations"): staff(Permission.VIEW_SUPPLIERS),
    # supplier A has no registration: the 404 comes from the lookup, after the guard's 403
    ("POST", "/suppliers/{party_id:uuid}/registration"): staff(Permission.MANAGE_SUPPLIERS, found=NOT_FOUND),
    # SUPPLIER_DOCUMENT_ID, supplier A's: the empty form names no decision (400), so nothing changes
    ("POST", "/suppliers/{party_id:uuid}/documents/{document_id:uuid}/review"): staff(Permission.MANAGE_SUPPLIERS),
    ("GET", "/suppliers/{party_id:uuid}/documents/{document_id:uuid}/file"): staff(Permission.VIEW_SUPPLIERS),
    # no such change request; owners and admins are not finance, so the guard refuses them
    ("POST", "/suppliers/{party_id:uuid}/changes/{change_id:uuid}"): staff(
        Permission.DECIDE_SUPPLIER_CHANGES, found=NOT_FOUND
    ),
    ("POST", "/suppliers/{party_id:uuid}/risk"): staff(Permission.MANAGE_SUPPLIERS),  # no tier: 400, no change
    ("POST", "/suppliers/{party_id:uuid}/status"): staff(Permission.MANAGE_SUPPLIERS),  # no action: 400
    # onboarding set-up: empty forms are refused (400); no such category or requirement: 404
    ("GET", "/suppliers/setup"): staff(Permission.MANAGE_SUPPLIERS),
    ("POST", "/suppliers/setup/categories"): staff(Permission.MANAGE_SUPPLIERS),
    ("POST", "/suppliers/setup/terms"): staff(Permission.MANAGE_SUPPLIERS),
    # a POST without formats: acme would stop taking office documents (restore_office_formats)
    ("POST", "/suppliers/setup/uploads"): staff(Permission.MANAGE_SUPPLIERS),
    ("POST", "/suppliers/setup/categories/{category_id:uuid}/requirements"): staff(
        Permission.MANAGE_SUPPLIERS, found=NOT_FOUND
    ),
    ("POST", "/suppliers/setup/requirements/{requirement_id:uuid}/remove"): staff(
        Permission.MANAGE_SUPPLIERS, found=NOT_FOUND
    ),
    # inviting a supplier: the empty form is refused (400), nothing is created; supplier A was
    # not invited, so sending its invitation again is a 404
    ("GET", "/suppliers/invite"): staff(Permission.MANAGE_SUPPLIERS),
    ("POST", "/suppliers/invite"): staff(Permission.MANAGE_SUPPLIERS),
    ("POST", "/suppliers/{party_id:uuid}/invitation"): staff(Permission.MANAGE_SUPPLIERS, found=NOT_FOUND),
    ("GET", "/customers"): staff(Permission.VIEW_CUSTOMERS),
    ("POST", "/customers"): staff(Permission.MANAGE_CUSTOMERS),
    ("GET", "/customers/new"): staff(Permission.MANAGE_CUSTOMERS),
    ("GET", "/customers/{party_id:uuid}"): staff(Permission.VIEW_CUSTOMERS),
    ("POST", "/customers/{party_id:uuid}/users"): staff(Permission.MANAGE_CUSTOMERS),
    ("GET", "/admin/jobs"): staff(Permission.MANAGE_USERS),
    ("GET", "/admin/mail"): staff(Permission.MANAGE_USERS),
    ("GET", "/admin/mail/{mail_id:uuid}"): staff(Permission.MANAGE_USERS),  # MATRIX_MAIL, kept in acme
    ("GET", "/admin/audit"): staff(Permission.VIEW_AUDIT),
    # on the caller's own membership: refused (no roles, not oneself) or a no-op, so nothing changes
    ("POST", "/admin/users/{membership_id:uuid}/roles"): staff(Permission.MANAGE_USERS),
    ("POST", "/admin/users/{membership_id:uuid}/deactivate"): staff(Permission.MANAGE_USERS),
    ("POST", "/admin/users/{membership_id:uuid}/reactivate"): staff(Permission.MANAGE_USERS),
    ("POST", "/admin/users/{membership_id:uuid}/invitation"): staff(Permission.MANAGE_USERS),
    ("POST", "/admin/jobs/{job_id:str}/retry"): staff(Permission.MANAGE_USERS, found=NOT_FOUND),  # no such job
    # billing is the owner's; it is off in these tests, so the changes answer 404 past the guard
    ("GET", "/admin/billing"): staff(Permission.MANAGE_BILLING),
    ("POST", "/admin/billing/plan"): staff(Permission.MANAGE_BILLING, found=NOT_FOUND),
    ("POST", "/admin/billing/cancel"): staff(Permission.MANAGE_BILLING, found=NOT_FOUND),
    ("POST", "/admin/billing/resume"): staff(Permission.MANAGE_BILLING, found=NOT_FOUND),
    ("POST", "/admin/billing/portal"): staff(Permission.MANAGE_BILLING, found=NOT_FOUND),
    ("GET", "/supplier"): suppliers(),
    # supplier A's account summary (see supplier_a_document): staff who may see suppliers, and
    # supplier A's own people
    ("GET", "/documents/{document_id:uuid}"): members(
        Permission.VIEW_SUPPLIERS, supplier_b=NOT_FOUND, customer_a=NOT_FOUND, customer_b=NOT_FOUND
    ),
    ("POST", "/suppliers/{party_id:uuid}/documents"): staff(Permission.VIEW_SUPPLIERS),
    ("POST", "/supplier/documents"): suppliers(),
    # the supplier's own company pages: its people only (party scope inside); profile, legal data
    # and colleagues are its admins', the bank account its admins' and accounting's
    ("GET", "/supplier/company"): suppliers(),
    ("POST", "/supplier/company"): suppliers(Permission.MANAGE_COMPANY_PROFILE),
    ("POST", "/supplier/company/changes"): suppliers(Permission.MANAGE_COMPANY_PROFILE),
    ("POST", "/supplier/company/bank"): suppliers(Permission.CHANGE_BANK_ACCOUNT),
    ("POST", "/supplier/company/documents"): suppliers(),
    ("POST", "/supplier/company/colleagues"): suppliers(Permission.MANAGE_COLLEAGUES),
    # supplier B's admin: not a colleague of A's people (404); B's admin on themselves without a
    # role is refused (400), so nothing changes
    ("POST", "/supplier/company/colleagues/{membership_id:uuid}"): suppliers(Permission.MANAGE_COLLEAGUES, a=NOT_FOUND),
    # SUPPLIER_DOCUMENT_ID is supplier A's: its own people only
    ("GET", "/supplier/company/documents/{document_id:uuid}/file"): suppliers(b=NOT_FOUND),
    # self-registration is public: the draft is reached through its signed cookie, which no caller
    # here has, so every step sends them back to the start (or refuses the empty form)
    ("GET", "/supplier/register"): public(),
    ("POST", "/supplier/register"): public(),
    # the e-mailed link that continues a registration, and e-mail and password from another browser
    ("GET", "/supplier/register/continue"): public(),
    ("POST", "/supplier/register/continue"): public(),
    ("POST", "/supplier/register/sign-in"): public(),
    ("GET", "/supplier/register/draft"): public(),
    ("POST", "/supplier/register/company"): public(),
    ("POST", "/supplier/register/contacts"): public(),
    ("POST", "/supplier/register/categories"): public(),
    ("POST", "/supplier/register/bank"): public(),
    ("POST", "/supplier/register/documents"): public(),
    ("POST", "/supplier/register/terms"): public(),
    ("POST", "/supplier/register/submit"): public(),
    # an invitation link is its signed token: a forged one is a missing invitation, for anyone
    ("GET", "/supplier/register/invitation/{token:str}"): public(NOT_FOUND),
    ("POST", "/supplier/register/invitation/{token:str}"): public(NOT_FOUND),
    ("GET", "/customer"): customers(),
    ("POST", "/api/v1/token"): public(),
    ("GET", "/api/v1/me"): members(),
    # lists: staff who may see them; a party's people get only their own company
    ("GET", "/api/v1/suppliers"): members(Permission.VIEW_SUPPLIERS),
    ("GET", "/api/v1/customers"): members(Permission.VIEW_CUSTOMERS),
    ("POST", "/api/v1/suppliers"): staff(Permission.MANAGE_SUPPLIERS),  # no body: 400
    # one object: supplier A's own record, customer A's own record
    ("GET", "/api/v1/suppliers/{supplier_id:uuid}"): members(
        Permission.VIEW_SUPPLIERS, supplier_b=NOT_FOUND, customer_a=NOT_FOUND, customer_b=NOT_FOUND
    ),
    ("GET", "/api/v1/customers/{customer_id:uuid}"): members(
        Permission.VIEW_CUSTOMERS, supplier_a=NOT_FOUND, supplier_b=NOT_FOUND, customer_b=NOT_FOUND
    ),
}
# A discovery that finds fewer routes than this is broken, not a smaller app.
MIN_TENANT_ROUTES = 80
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
    # step 2 of entering a workspace: a ticket for the browser's binding (404 without one)
    ("GET", "/workspaces/{slug:str}/ticket"): {"anonymous": LOGIN, "identity": NOT_FOUND},
    ("GET", "/account/set-password"): {"anonymous": OK, "identity": OK},
    ("POST", "/account/set-password"): {"anonymous": OK, "identity": OK},
    ("GET", "/account/forgot-password"): {"anonymous": OK, "identity": OK},
    ("POST", "/account/forgot-password"): {"anonymous": OK, "identity": OK},
    ("GET", "/account/unlock"): {"anonymous": OK, "identity": OK},
    ("POST", "/account/unlock"): {"anonymous": OK, "identity": OK},
    ("GET", "/pricing"): {"anonymous": OK, "identity": OK},
    ("GET", "/signup"): {"anonymous": OK, "identity": OK},
    ("GET", "/signup/slug"): {"anonymous": OK, "identity": OK},
    ("POST", "/signup"): {"anonymous": OK, "identity": OK},  # an empty form: 400 with field messages
    # the owner's e-mailed link (an unknown one: 400, the page saying so)
    ("GET", "/signup/confirm"): {"anonymous": OK, "identity": OK},
    ("POST", "/signup/confirm"): {"anonymous": OK, "identity": OK},
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
async def supplier_a_document(db: Database, demo: DemoData) -> AsyncIterator[None]:
    acme = demo.acme
    async with db.transaction(TenantContext.system(acme.id)) as session:
        before = set(await session.scalars(select(Document.id)))
        session.add(
            Document(
                tenant_id=acme.id,
                id=UUID(DOCUMENT_ID),
                kind="supplier_summary",
                object_type="supplier",
                object_id=acme.supplier_ids[0],
                supplier_id=acme.supplier_ids[0],
                locale="en",
                status=DocumentStatus.PENDING,
                filename="supplier-summary.pdf",
            )
        )
    yield
    # The documents of this module (this one, and those the POST rows asked for) go, with their
    # render jobs: another module's "a pending one is reused" must not find them.
    async with db.transaction(TenantContext.system(acme.id)) as session:
        ids = list(await session.scalars(delete(Document).where(Document.id.not_in(before)).returning(Document.id)))
        await session.execute(
            update(OutboxJob)
            .where(OutboxJob.key.in_([f"documents.render:{i}" for i in ids]), OutboxJob.status == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


# A qualification document of supplier A in acme, waiting for review, with its bytes in storage.
SUPPLIER_DOCUMENT_ID = "0192f7a0-0000-7000-8000-0000000005d0"


@pytest.fixture(scope="module", autouse=True)
async def supplier_a_qualification_document(app: HostDispatcher, db: Database, demo: DemoData) -> AsyncIterator[None]:
    acme = demo.acme
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
async def restore_office_formats(db: Database, demo: DemoData) -> AsyncIterator[None]:
    """A POST to /suppliers/setup/uploads without formats is a valid choice (no office formats):
    acme gets its formats back afterwards."""
    yield
    async with db.transaction(TenantContext.system(demo.acme.id)) as session:  # RLS: a tenant's own row only
        restored = await session.execute(
            update(Tenant).where(Tenant.id == demo.acme.id).values(supplier_office_formats=["docx", "xlsx"])
        )
        assert restored.rowcount == 1


@pytest.fixture(scope="module")
async def people(db: Database, demo: DemoData, owner_engine: AsyncEngine) -> AsyncIterator[dict[str, Login]]:
    """Each caller's own login in acme, one role each (the demo has people of some roles only,
    and other modules change theirs); gone again after the module."""
    acme = demo.acme
    made: dict[str, Login] = {}
    try:
        for caller in PEOPLE:
            party_ids = acme.supplier_ids if caller.audience == "supplier" else acme.customer_ids
            party = {f"{caller.audience}_id": party_ids[caller.party]} if caller.audience != "staff" else {}
            kind = MembershipKind(caller.audience)
            made[caller.name] = await add_login(db, acme.id, caller.email, kind, roles=caller.roles, **party)
        yield made
    finally:
        await remove_people(owner_engine, made.values())


# A kept e-mail in acme and a notification of the owner's, for the routes that open one.
MATRIX_MAIL = "0192f7a0-0000-7000-8000-00000000a11a"
MATRIX_NOTIFICATION = "0192f7a0-0000-7000-8000-00000000be11"


@pytest.fixture(scope="module", autouse=True)
async def mail_and_notification(db: Database, demo: DemoData, people: dict[str, Login]) -> None:
    acme = demo.acme
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
                membership_id=people[OWNER.name].membership_id,
                title="Route matrix",
            )
        )


@dataclass(frozen=True)
class Endpoint:
    method: str
    template: str


def concrete_path(template: str, demo: DemoData, own_membership: UUID, colleague: UUID) -> str:
    """The route with ids filled in: demo objects of acme and the module's own, for the staff users'
    pages the caller's own membership (a change there is refused or changes nothing), and for a
    supplier's colleagues the membership of supplier B's admin."""
    acme = demo.acme
    supplier_a, customer_a = str(acme.supplier_ids[0]), str(acme.customer_ids[0])
    path = (
        template.replace("{file_path:path}", "app.css")
        .replace("{slug:str}", "acme")
        .replace("{token:str}", "forged.4102444800.0")
        .replace("{path:str}", "openapi.json")
        .replace("{job_id:str}", "0192f7a0-0000-7000-8000-000000000000")
        .replace("/colleagues/{membership_id:uuid}", f"/colleagues/{colleague}")
        .replace("{membership_id:uuid}", str(own_membership))
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
    """LOGIN, NOT_FOUND, DENIED, OK, or the status itself when it is none of these."""
    status = response.status_code
    if status == 401 or (status in (302, 303) and response.headers["location"].startswith("/login?")):
        return LOGIN
    if status == 404:
        return NOT_FOUND
    if status == 403:
        return DENIED
    return OK if status in SERVED else str(status)


async def call(browser: Browser, bearer: str | None, endpoint: Endpoint, path: str) -> httpx.Response:
    if path.startswith("/api/"):
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        return await browser.client.request(endpoint.method, path, headers=headers, json=JSON_BODIES.get(path))
    if endpoint.method == "POST":
        return await browser.post_form(path, FORM_BODIES.get(endpoint.template, {}))
    return await browser.client.request(endpoint.method, path)


def test_every_caller_is_one_role_and_every_role_has_a_caller() -> None:
    """The rows the issue asks for: every staff role, every supplier role, two customers, nobody
    logged in, and a member of another tenant."""
    staff_roles = [caller.roles for caller in CALLERS if caller.audience == "staff"]
    assert sorted(staff_roles) == sorted((role.value,) for role in StaffRole)
    supplier_a_roles = [caller.roles for caller in CALLERS if caller.audience == "supplier" and caller.party == 0]
    assert sorted(supplier_a_roles) == sorted((role.value,) for role in SupplierRole)
    assert {(caller.audience, caller.party) for caller in CALLERS} >= {
        ("supplier", 1),
        ("customer", 0),
        ("customer", 1),
        ("anonymous", 0),
        ("other_tenant", 0),
    }
    assert len({caller.name for caller in CALLERS}) == len(CALLERS)


def discovered(litestar_app: Any, at_least: int) -> list[Endpoint]:
    """The app's routes; fewer than `at_least` means the discovery broke (and a matrix over an
    empty list would pass without checking anything)."""
    routes = [
        Endpoint(method, route.path)
        for route in litestar_app.routes
        for method in sorted(getattr(route, "methods", ()))
        if method != "OPTIONS"
    ]
    assert len(routes) >= at_least, f"only {len(routes)} routes found: the discovery is broken"
    return routes


async def test_every_tenant_route_is_in_the_table(app: HostDispatcher) -> None:
    routes = discovered(app.tenant, MIN_TENANT_ROUTES)
    missing = [
        f"{e.method} {e.template}"
        for e in routes
        if (e.method, e.template) not in TENANT_ROUTES and not e.template.startswith(PUBLIC_PREFIXES)
    ]
    assert not missing, f"routes without a row in the authorization table: {missing}"
    stale = set(TENANT_ROUTES) - {(e.method, e.template) for e in routes}
    assert not stale, f"rows for routes that no longer exist: {stale}"


def _principal(caller: Caller) -> Principal:
    """The caller as the menus see them (ids of no one: menus read the audience and roles only)."""
    return Principal(
        tenant_id=uuid4(),
        identity_id=uuid4(),
        membership_id=uuid4(),
        kind=caller.audience,
        party_id=None if caller.audience == "staff" else uuid4(),
        roles=frozenset(caller.roles),
        email=caller.email,
        name=caller.name,
    )


@pytest.mark.parametrize("caller", PEOPLE, ids=lambda caller: caller.name)
def test_the_menu_offers_exactly_the_pages_the_matrix_serves(caller: Caller) -> None:
    offered = {link.href for link in nav_for(_principal(caller))}
    served = {entry.href for entry in MENU if TENANT_ROUTES[("GET", entry.href)].expect(caller) == OK}
    assert offered == served


async def test_each_menu_entry_names_its_routes_guard(app: HostDispatcher) -> None:
    """A menu entry's guard is its page's own: a guard changed on the route (or the entry) fails
    here, before any menu could offer a page that refuses its person."""
    handlers = {
        route.path: handler
        for route in app.tenant.routes
        for handler in getattr(route, "route_handlers", ())
        if "GET" in (handler.http_methods or ())
    }
    for entry in MENU:
        guards = [guard for guard in handlers[entry.href].resolve_guards() if isinstance(guard, Requires)]
        assert entry.guard in guards, f"{entry.href}: {guards}"


async def test_every_apex_route_is_in_the_table(app: HostDispatcher) -> None:
    routes = discovered(app.apex, len(APEX_ROUTES))
    missing = [f"{e.method} {e.template}" for e in routes if (e.method, e.template) not in APEX_ROUTES]
    assert not missing, f"apex routes without a row in the authorization table: {missing}"
    stale = set(APEX_ROUTES) - {(e.method, e.template) for e in routes}
    assert not stale, f"apex rows for routes that no longer exist: {stale}"


@dataclass
class Session:
    """A caller's browser on acme's host for the whole module, and their API token."""

    browser: Browser
    bearer: str | None
    login: Login | None = None
    cookie: str | None = None  # the other tenant's: presented again before every request


@pytest.fixture(scope="module")
async def sessions(app: HostDispatcher, people: dict[str, Login]) -> AsyncIterator[dict[str, Session]]:
    made: dict[str, Session] = {"anonymous": Session(Browser(app, "acme.localhost"), None)}
    for caller in PEOPLE:
        browser = Browser(app, "acme.localhost")
        assert (await browser.login(caller.email)).status_code in (302, 303), caller
        made[caller.name] = Session(browser, await api_token(app, caller.email), people[caller.name])
    # A globex admin presents their globex session cookie and globex token to acme.
    globex = Browser(app, "globex.localhost")
    assert (await globex.login("admin@globex.test")).status_code in (302, 303)
    bearer = await api_token(app, "admin@globex.test", host="globex.localhost")
    made["other_tenant"] = Session(
        Browser(app, "acme.localhost"), bearer, cookie=globex.client.cookies["merkato_session"]
    )
    yield made
    for session in [*made.values()]:
        await session.browser.aclose()
    await globex.aclose()


async def test_tenant_route_matrix(
    app: HostDispatcher, demo: DemoData, people: dict[str, Login], sessions: dict[str, Session]
) -> None:
    colleague = people[SUPPLIER_B.name].membership_id

    async def attempt(endpoint: Endpoint, rule: Rule, caller: Caller) -> str | None:
        """One call; what went wrong, if anything."""
        session = sessions[caller.name]
        own = session.login or people[OWNER.name]
        path = concrete_path(endpoint.template, demo, own.membership_id, colleague)
        if session.cookie:
            # present the globex session again: an earlier /logout or /login may have cleared it
            session.browser.client.cookies.set("merkato_session", session.cookie)
        got, expected = outcome(await call(session.browser, session.bearer, endpoint, path)), rule.expect(caller)
        if session.login and "merkato_session" not in session.browser.client.cookies:
            # that call (/logout) ended the caller's session; log in again for the next routes
            assert (await session.browser.login(caller.email)).status_code in (302, 303)
        return None if got == expected else f"{endpoint.method} {path} as {caller.name}: expected {expected}, got {got}"

    routes = discovered(app.tenant, MIN_TENANT_ROUTES)
    failures: list[str] = []
    for endpoint in routes:
        # the public OpenAPI routes have no row (checked for presence above)
        rule = TENANT_ROUTES.get((endpoint.method, endpoint.template), public())
        # the callers side by side (each with its own cookies), the routes one after the other
        found = await asyncio.gather(*(attempt(endpoint, rule, caller) for caller in CALLERS))
        failures += [failure for failure in found if failure]
    assert not failures, f"{len(failures)} of {len(routes) * len(CALLERS)} calls:\n" + "\n".join(failures)


async def test_apex_route_matrix(app: HostDispatcher, demo: DemoData) -> None:
    anonymous = Browser(app, "localhost")
    identity = Browser(app, "localhost")
    assert (await identity.login("supplier@acme.test")).headers["location"] == "/workspaces"
    failures = []
    for endpoint in discovered(app.apex, len(APEX_ROUTES)):
        path = re.sub(r"\{file_path:path\}", "app.css", endpoint.template).replace("{slug:str}", "acme")
        path = path.replace("{tenant_id:uuid}", str(demo.acme.id))
        for name, browser in (("anonymous", anonymous), ("identity", identity)):
            got = outcome(await call(browser, None, endpoint, path))
            expected = APEX_ROUTES[(endpoint.method, endpoint.template)][name]
            if got != expected:
                failures.append(f"apex {endpoint.method} {path} as {name}: expected {expected}, got {got}")
            if endpoint.template in ("/logout", "/login") and name == "identity":
                await browser.login("supplier@acme.test")
    await anonymous.aclose()
    await identity.aclose()
    assert not failures, "\n".join(failures)
