"""The staff supplier master over HTTP, on the demo tenant acme: the list searches by name, tax id
and category, filters by status, risk tier and qualification, pages, and exports the same rows as
CSV that spreadsheets open safely, and the JSON API searches the same way; the review queue; the
supplier 360 page shows everything and carries the decisions (registration review, document
review, four-eyes change decisions, risk tier); documents download only for acme's staff; other
tenants' and suppliers' ids are 404."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.service import PersonForm, add_person
from backend.authz.principal import Principal
from backend.authz.roles import StaffRole
from backend.documents.storage import storage_from
from backend.jobs.broker import load_jobs
from backend.kit.ids import new_id
from backend.models import (
    AuditEvent,
    Membership,
    MembershipKind,
    QualificationStatus,
    RegistrationStatus,
    Supplier,
    SupplierChangeRequest,
    SupplierContact,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
    SupplierRegistration,
)
from backend.models.change_request import ChangeKind, ChangeStatus
from backend.parties.service import PartyForm, create_supplier
from backend.suppliers.changes import (
    BankDetails,
    account_in_force,
    change_to_decide,
    decide,
    propose_bank_account,
    propose_value,
)
from backend.suppliers.qualification import (
    NewDocument,
    add_document,
    create_category,
    require_document,
    review_document,
    supply_category,
)
from backend.suppliers.registration import CompanyForm, start
from portals.shared.security_headers import SANDBOXED_FILE_POLICY
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.people import add_login, give_login, remove_people
from tests.uploads.samples import png
from tests.web.conftest import api_token

TODAY = date.today()  # acme's clock is behind UTC by hours at most: every date below keeps days of margin
PASSWORD = "a-long-enough-password"
PDF = b"%PDF-1.7\n% supplier master test\n"
OLD_ACCOUNT = "DE89370400440532013000"
NEW_ACCOUNT = "DE02120300000000202051"


@dataclass(frozen=True)
class World:
    tenant_id: UUID
    token: str
    tax_id: str
    category_code: str
    category_name: str
    document_type: str
    alpha: UUID  # risk high, pending in the category, a contact, a bank account and changes
    chinese: UUID  # qualified, its licence expiring soon
    formula: UUID  # a name a spreadsheet would run; expired in the category
    duplicate: UUID  # alpha's tax id written another way; blocked
    finance: dict[str, Principal]  # each as their requests name them

    @property
    def system(self) -> TenantContext:
        return TenantContext.system(self.tenant_id)


def _document(document_type: str, key: str, *, expires_on: date | None, filename: str = "licence.pdf") -> NewDocument:
    return NewDocument(
        document_type=document_type,
        filename=filename,
        storage_key=key,
        mime_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
        issued_on=TODAY - timedelta(days=400),
        expires_on=expires_on,
    )


async def _approved_document(
    session: Any, world_tenant: UUID, supplier_id: UUID, document_type: str, expires_on: date
) -> None:
    document = await add_document(
        session,
        supplier_id,
        _document(document_type, f"{world_tenant}/{new_id().hex}.pdf", expires_on=expires_on),
    )
    await review_document(session, document, approve=True, today=TODAY)


@pytest.fixture(scope="module")
async def world(db: Database, demo: Any) -> World:
    load_jobs()
    acme = demo.tenants["acme"]
    token = secrets.token_hex(3)
    tax_id = f"DE{int(token, 16):09d}"
    code, document_type = f"PAS{token}".upper(), f"iso_{token}"
    finance: dict[str, Principal] = {}
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, f"Passive components {token}")
        await require_document(session, category, document_type, "ISO 9001 certificate")

        async def supplier(name: str, country: str, currency: str, local: str, tax: str = "") -> Supplier:
            form = PartyForm(
                name=name,
                country=country,
                currency=currency,
                email=f"{local}@{token}.test",
                phone="+49 711 1",
                tax_id=tax,
            )
            return await create_supplier(session, form)

        alpha = await supplier(f"Alpha Elektronik {token} GmbH", "DE", "EUR", "alpha", tax_id)
        chinese = await supplier(f"杭州测试电子有限公司{token}", "CN", "CNY", "cn")
        formula = await supplier('=HYPERLINK("http://evil.test","click")', "US", "USD", "eq")
        duplicate = await supplier(f"Doppel {token} AG", "DE", "EUR", "dup", f"{tax_id[:5]} {tax_id[5:]}".lower())
        alpha.trading_name, alpha.risk_tier, alpha.risk_reason = f"Alpha {token}", "high", "Single source, new"
        duplicate.status = "blocked"
        for each in (alpha, chinese, formula):
            await supply_category(session, each.id, category.id, today=TODAY)
        await _approved_document(session, acme.id, chinese.id, document_type, TODAY + timedelta(days=10))
        await _approved_document(session, acme.id, formula.id, document_type, TODAY - timedelta(days=5))
        session.add(
            SupplierContact(
                tenant_id=acme.id,
                supplier_id=alpha.id,
                name="Karla Kontakt",
                email="karla@alpha.test",
                title="Vertrieb",
            )
        )
        for local in ("finance1", "finance2"):
            email = f"{local}-{token}@acme.test"
            await give_login(session, email, PASSWORD, local.title())
            form = PersonForm(email=email, full_name=local.title(), roles=["finance"])
            membership = await add_person(session, form, kind=MembershipKind.STAFF)
            finance[local] = Principal(
                tenant_id=acme.id,
                identity_id=membership.identity_id,
                membership_id=membership.id,
                kind=MembershipKind.STAFF,
                party_id=None,
                roles=frozenset({StaffRole.FINANCE.value}),
                email=email,
                name=local.title(),
            )
        alpha_person = await add_person(
            session,
            PersonForm(email=f"alpha-{token}@alpha.test", full_name="Alpha Person"),
            kind=MembershipKind.SUPPLIER,
            supplier_id=alpha.id,
        )
    # alpha's first account: asked for by alpha's person, approved by finance1, each in their own context
    alpha_context = TenantContext(
        acme.id, PartyKind.SUPPLIER, alpha.id, identity_id=alpha_person.identity_id, membership_id=alpha_person.id
    )
    async with db.transaction(alpha_context) as session:
        first = await propose_bank_account(
            session,
            alpha.id,
            BankDetails(holder="Alpha", account=OLD_ACCOUNT, bic="COBADEFFXXX", bank_name=None, country="DE"),
        )
    async with db.transaction(finance["finance1"].context) as session:
        to_decide = await change_to_decide(session, first.id)
        assert to_decide is not None
        await decide(session, to_decide, approve=True, decider=finance["finance1"])
    return World(
        acme.id,
        token,
        tax_id,
        code,
        f"Passive components {token}",
        document_type,
        alpha.id,
        chinese.id,
        formula.id,
        duplicate.id,
        finance,
    )


async def _staff(browser: Any, email: str = "admin@acme.test", password: str | None = None) -> Any:
    page = browser("acme.localhost")
    response = await (page.login(email, password) if password else page.login(email))
    assert response.status_code in (302, 303), response.text[:300]
    return page


def _names(html: str) -> str:
    """The results part of the list page (the search form repeats what was typed)."""
    return html.split('id="results"', 1)[1]


# --- the list -------------------------------------------------------------------------------------


async def test_search_by_tax_id_in_any_spelling_and_by_category(browser: Any, world: World) -> None:
    admin = await _staff(browser)
    spaced = f"{world.tax_id[:2]} {world.tax_id[2:5]} {world.tax_id[5:]}"
    found = _names((await admin.get("/suppliers", params={"q": spaced})).text)
    assert f"Alpha Elektronik {world.token} GmbH" in found
    assert f"Doppel {world.token} AG" in found  # the same number, written "de123 45678"
    assert "杭州测试电子有限公司" not in found
    for category in (world.category_code.lower(), world.category_name):
        found = _names((await admin.get("/suppliers", params={"q": category})).text)
        assert f"Alpha Elektronik {world.token} GmbH" in found
        assert f"杭州测试电子有限公司{world.token}" in found
        assert "=HYPERLINK(" in found  # escaped in the page, never a formula there
        assert "Doppel" not in found
    by_name = _names((await admin.get("/suppliers", params={"q": f"elektronik {world.token}"})).text)
    assert f"Alpha Elektronik {world.token} GmbH" in by_name
    assert "3 in total" not in by_name
    literal = _names((await admin.get("/suppliers", params={"q": "%"})).text)
    assert "Nothing found." in literal  # a wildcard typed is a character, not "everything"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"risk": "high"}, {"alpha"}),
        ({"qualification": "pending"}, {"alpha"}),
        ({"qualification": "qualified"}, {"chinese"}),
        ({"qualification": "expired"}, {"formula"}),
        ({"status": "blocked"}, {"duplicate"}),
        ({"status": "active"}, {"alpha", "chinese", "formula"}),
        ({"status": "active", "qualification": "expired"}, {"formula"}),
    ],
)
async def test_each_filter(browser: Any, world: World, filters: dict[str, str], expected: set[str]) -> None:
    admin = await _staff(browser)
    response = await admin.get("/suppliers", params={"q": f"{world.token}.test", **filters})
    assert response.status_code == 200
    results = _names(response.text)
    shown = {name for name, supplier in _ids(world).items() if f'href="/suppliers/{supplier}"' in results}
    assert shown == expected
    assert f"{len(expected)} in total" in results
    # the export link carries the same filters
    assert all(
        f"{key}={value}" in results.split('id="export-csv"')[0].rsplit("href=", 1)[1] for key, value in filters.items()
    )


def _ids(world: World) -> dict[str, UUID]:
    return {"alpha": world.alpha, "chinese": world.chinese, "formula": world.formula, "duplicate": world.duplicate}


async def test_paging_keeps_the_filters(browser: Any, db: Database, world: World) -> None:
    async with db.transaction(world.system) as session:
        for n in range(1, 27):
            paged = await create_supplier(
                session, PartyForm(name=f"Zz Paging {world.token} {n:02d}", country="DE", currency="EUR")
            )
            paged.status = "blocked"  # not one of the plan's active suppliers
    admin = await _staff(browser)
    query = f"Zz Paging {world.token}"
    first = _names((await admin.get("/suppliers", params={"q": query, "status": "blocked"})).text)
    assert "26 in total" in first
    assert first.count(f"Zz Paging {world.token} ") == 25
    assert "Page 1 of 2" in first
    assert f"?page=2&amp;q={quote(query).replace('%20', '+')}&amp;status=blocked" in first
    second = _names((await admin.get("/suppliers", params={"q": query, "status": "blocked", "page": 2})).text)
    assert f"Zz Paging {world.token} 26" in second
    assert second.count(f"Zz Paging {world.token} ") == 1


async def test_csv_export(browser: Any, world: World) -> None:
    admin = await _staff(browser)
    response = await admin.get("/suppliers/export.csv", params={"q": f"{world.token}.test"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = response.content.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Number", "Name", "Trading name"]
    by_name = {row[1]: row for row in rows[1:]}
    assert len(by_name) == 4
    assert f"杭州测试电子有限公司{world.token}" in by_name
    # the formula starts with a quote in the cell, and the cell is quoted the RFC 4180 way
    assert '\'=HYPERLINK("http://evil.test","click")' in by_name
    assert '"\'=HYPERLINK(""http://evil.test"",""click"")"' in text
    assert by_name[f"Alpha Elektronik {world.token} GmbH"][6] == "High"
    assert f"Passive components {world.token} (Qualified)" in by_name[f"杭州测试电子有限公司{world.token}"]
    assert by_name[f"Alpha Elektronik {world.token} GmbH"][10] == "'+49 711 1"  # a phone number is text too

    filtered = await admin.get("/suppliers/export.csv", params={"q": f"{world.token}.test", "risk": "high"})
    rows = list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == [f"Alpha Elektronik {world.token} GmbH"]

    viewer = await _staff(browser, "viewer@acme.test")
    assert (await viewer.get("/suppliers/export.csv")).status_code == 200
    supplier = browser("acme.localhost")
    await supplier.login("supplier@acme.test")
    assert (await supplier.get("/suppliers/export.csv")).status_code == 404


async def test_the_api_searches_like_the_list(app: Any, demo: Any, world: World) -> None:
    """One supplier search: the API finds by tax id in any spelling and by category, as the list
    and the export do; a supplier user's search finds nothing but their own supplier."""
    spaced = f"{world.tax_id[:2]} {world.tax_id[2:5]} {world.tax_id[5:]}"
    staff_token = await api_token(app, "admin@acme.test")
    supplier_token = await api_token(app, "supplier@acme.test")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://acme.localhost") as client:

        async def names(token: str, q: str) -> set[str]:
            response = await client.get(
                "/api/v1/suppliers", params={"q": q}, headers={"authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, response.text
            return {item["name"] for item in response.json()["items"]}

        assert await names(staff_token, spaced) == {f"Alpha Elektronik {world.token} GmbH", f"Doppel {world.token} AG"}
        assert await names(staff_token, world.category_code.lower()) == {
            f"Alpha Elektronik {world.token} GmbH",
            f"杭州测试电子有限公司{world.token}",
            '=HYPERLINK("http://evil.test","click")',
        }
        assert await names(supplier_token, world.category_code.lower()) == set()
        response = await client.get("/api/v1/suppliers", headers={"authorization": f"Bearer {supplier_token}"})
    assert [item["id"] for item in response.json()["items"]] == [str(demo.tenants["acme"].supplier_ids[0])]


# --- the review queue and the registration ---------------------------------------------------------


async def _submitted_registration(db: Database, world: World, name: str) -> tuple[UUID, UUID]:
    """A registration as if the supplier had just submitted it (completeness is the service's test)."""
    async with db.transaction(world.system) as session:
        registrant = await give_login(session, f"reg-{secrets.token_hex(4)}@example.test", PASSWORD, "Rita Registrant")
        form = CompanyForm(
            legal_name=name, country="GB", tax_id="GB980780684", street="1 High St", city="Leeds", currency="GBP"
        )
        registration = await start(session, form, registrant=registrant)
        registration.status, registration.submitted_at = RegistrationStatus.SUBMITTED, datetime.now(UTC)
    return registration.id, registration.supplier_id


async def _registration(db: Database, world: World, registration_id: UUID) -> SupplierRegistration:
    async with db.transaction(world.system) as session:
        found = await session.get(SupplierRegistration, (world.tenant_id, registration_id))
        assert found is not None
        return found


async def test_review_queue_lists_submitted_registrations(browser: Any, db: Database, world: World) -> None:
    name = f"Queue Parts {world.token} Ltd"
    _registration_id, supplier_id = await _submitted_registration(db, world, name)
    viewer = await _staff(browser, "viewer@acme.test")
    queue = await viewer.get("/suppliers/registrations")
    assert queue.status_code == 200
    row = queue.text.split(f'href="/suppliers/{supplier_id}"', 1)[1].split("</tr>", 1)[0]
    assert name in row
    assert "United Kingdom" in row
    assert '<span class="badge">4</span>' in row  # terms, contact, categories, bank account
    approved = await viewer.get("/suppliers/registrations", params={"status": "approved"})
    assert name not in approved.text
    everything = await viewer.get("/suppliers/registrations", params={"status": ""})
    assert name in everything.text


async def test_registration_review_actions(browser: Any, db: Database, world: World) -> None:
    registration_id, supplier_id = await _submitted_registration(db, world, f"Review Parts {world.token} Ltd")
    admin = await _staff(browser)
    page = await admin.get(f"/suppliers/{supplier_id}")
    assert 'id="review-form"' in page.text
    url = f"/suppliers/{supplier_id}/registration"

    no_comment = await admin.post_form(url, {"action": "request_info", "comment": "  "})
    assert no_comment.status_code == 400
    assert 'id="e-comment"' in no_comment.text
    assert "Say why, so the supplier knows what to do." in no_comment.text
    nonsense = await admin.post_form(url, {"action": "delete"})
    assert nonsense.status_code == 400
    assert (await _registration(db, world, registration_id)).status == RegistrationStatus.SUBMITTED

    asked = await admin.post_form(url, {"action": "request_info", "comment": "Please add your ISO 9001 certificate."})
    assert asked.status_code in (302, 303)
    found = await _registration(db, world, registration_id)
    assert (found.status, found.review_comment) == (
        RegistrationStatus.INFO_REQUESTED,
        "Please add your ISO 9001 certificate.",
    )

    illegal = await admin.post_form(url, {"action": "approve"})
    assert illegal.status_code == 409
    assert "This registration is now “More information requested”: that step is not possible any more." in illegal.text

    async with db.transaction(world.system) as session:  # the supplier resubmits
        again = await session.get(SupplierRegistration, (world.tenant_id, registration_id))
        assert again is not None
        again.status = RegistrationStatus.SUBMITTED
    viewer = await _staff(browser, "viewer@acme.test")
    assert (await viewer.post_form(url, {"action": "approve"})).status_code == 403
    approved = await admin.post_form(url, {"action": "approve"})
    assert approved.status_code in (302, 303)
    async with db.transaction(world.system) as session:
        supplier = await session.get(Supplier, (world.tenant_id, supplier_id))
        membership = await session.scalar(select(Membership).where(Membership.supplier_id == supplier_id))
    assert supplier is not None
    assert membership is not None
    assert (supplier.status, membership.active) == ("active", True)
    page = await admin.get(f"/suppliers/{supplier_id}")
    assert 'id="review-form"' not in page.text
    assert (await admin.post_form(url, {"action": "reject", "comment": "Too late"})).status_code == 409


# --- the 360 page ----------------------------------------------------------------------------------


async def test_the_360_page_shows_everything(browser: Any, db: Database, world: World) -> None:
    async with db.transaction(world.finance["finance1"].context) as session:
        await propose_value(session, world.alpha, ChangeKind.LEGAL_NAME, f"Alpha Components {world.token} GmbH")
        await propose_bank_account(
            session,
            world.alpha,
            BankDetails(holder="Alpha", account="DE75512108001245126199", bic=None, bank_name=None, country="DE"),
        )
    admin = await _staff(browser)
    page = await admin.get(f"/suppliers/{world.alpha}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        f"Alpha {world.token}",  # trading name
        world.tax_id,
        "Single source, new",  # the risk reason, under the tier
        "Karla Kontakt",
        "Vertrieb",
        f"Passive components {world.token}",
        'data-qualification="pending"',
        "…3000",  # the account in force, masked
        "…6199",  # the proposed one, masked
        "Legal name",
        f"Alpha Components {world.token} GmbH",
        "Finance1",  # who asked
        f"Doppel {world.token} AG",  # the duplicate warning
        'id="history"',
        "Portal users",
    ):
        assert expected in text, expected
    assert OLD_ACCOUNT not in text
    assert "DE75512108001245126199" not in text
    assert 'id="risk-tier">High' in text

    chinese = (await admin.get(f"/suppliers/{world.chinese}")).text
    assert 'class="badge expiry-expiring"' in chinese
    assert 'data-qualification="qualified"' in chinese
    assert "ISO 9001 certificate" in chinese
    formula = (await admin.get(f"/suppliers/{world.formula}")).text
    assert 'class="badge expiry-expired"' in formula
    assert 'data-qualification="expired"' in formula
    assert "&#34;http://evil.test&#34;" in formula or "&quot;http://evil.test&quot;" in formula

    viewer = await _staff(browser, "viewer@acme.test")
    seen = (await viewer.get(f"/suppliers/{world.alpha}")).text
    assert 'id="risk-form"' not in seen  # no managing
    assert 'name="decision"' not in seen  # no deciding
    assert 'id="history"' not in seen  # the trail is for VIEW_AUDIT


async def test_approving_a_document_qualifies_the_supplier(browser: Any, db: Database, world: World) -> None:
    async with db.transaction(world.system) as session:
        beta = await create_supplier(session, PartyForm(name=f"Beta {world.token}", country="DE", currency="EUR"))
        category_id = await session.scalar(
            select(SupplierQualification.category_id).where(SupplierQualification.supplier_id == world.alpha)
        )
        assert category_id is not None
        await supply_category(session, beta.id, category_id, today=TODAY)
        first = await add_document(
            session,
            beta.id,
            _document(
                world.document_type, f"{world.tenant_id}/{new_id().hex}.pdf", expires_on=TODAY + timedelta(days=300)
            ),
        )
        second = await add_document(
            session,
            beta.id,
            _document(
                world.document_type, f"{world.tenant_id}/{new_id().hex}.pdf", expires_on=TODAY + timedelta(days=400)
            ),
        )
    admin = await _staff(browser)
    page = (await admin.get(f"/suppliers/{beta.id}")).text
    assert "Waiting for review" in page
    assert f'action="/suppliers/{beta.id}/documents/{first.id}/review"' in page

    viewer = await _staff(browser, "viewer@acme.test")
    assert (
        await viewer.post_form(f"/suppliers/{beta.id}/documents/{first.id}/review", {"decision": "approve"})
    ).status_code == 403
    assert (
        await admin.post_form(f"/suppliers/{beta.id}/documents/{first.id}/review", {"decision": "maybe"})
    ).status_code == 400
    # the document through another supplier's page: not found
    assert (
        await admin.post_form(f"/suppliers/{world.alpha}/documents/{first.id}/review", {"decision": "approve"})
    ).status_code == 404

    approved = await admin.post_form(f"/suppliers/{beta.id}/documents/{first.id}/review", {"decision": "approve"})
    assert approved.status_code in (302, 303)
    async with db.transaction(world.system) as session:
        standing = await session.scalar(
            select(SupplierQualification.status).where(SupplierQualification.supplier_id == beta.id)
        )
        document = await session.get(SupplierDocument, (world.tenant_id, first.id))
        reviewed_by = await session.scalar(
            select(AuditEvent.actor_name).where(
                AuditEvent.object_id == beta.id, AuditEvent.action == "supplier_document.approved"
            )
        )
    assert standing == QualificationStatus.QUALIFIED
    assert document is not None
    assert document.status == SupplierDocumentStatus.APPROVED
    assert reviewed_by == "admin@acme.test"  # the trail names the reviewer, not "System"
    assert 'data-qualification="qualified"' in (await admin.get(f"/suppliers/{beta.id}")).text
    again = await admin.post_form(f"/suppliers/{beta.id}/documents/{first.id}/review", {"decision": "reject"})
    assert again.status_code == 409
    assert "This document has been reviewed already." in again.text

    rejected = await admin.post_form(f"/suppliers/{beta.id}/documents/{second.id}/review", {"decision": "reject"})
    assert rejected.status_code in (302, 303)
    async with db.transaction(world.system) as session:
        document = await session.get(SupplierDocument, (world.tenant_id, second.id))
    assert document is not None
    assert document.status == SupplierDocumentStatus.REJECTED


async def test_a_bank_change_needs_a_second_finance_person(browser: Any, db: Database, world: World) -> None:
    async with db.transaction(world.finance["finance1"].context) as session:  # typed in by finance1 for the supplier
        change = await propose_bank_account(
            session,
            world.alpha,
            BankDetails(holder="Alpha", account=NEW_ACCOUNT, bic="BYLADEM1001", bank_name=None, country="DE"),
        )
    url = f"/suppliers/{world.alpha}/changes/{change.id}"
    message = "Someone other than the person who asked for or entered this change must decide it."
    finance1 = await _staff(browser, world.finance["finance1"].email, PASSWORD)
    page = await finance1.get(f"/suppliers/{world.alpha}")
    # the page asks the service's own question of the row: no buttons for the one who typed it in
    assert f'action="{url}"' not in page.text
    assert message in page.text
    refused = await finance1.post_form(url, {"decision": "approve"})
    assert refused.status_code == 400
    assert message in refused.text
    assert f'id="e-change-{change.id}"' in refused.text

    admin = await _staff(browser)  # an owner, but not in finance: the route's guard refuses
    assert f'action="{url}"' not in (await admin.get(f"/suppliers/{world.alpha}")).text
    not_finance = await admin.post_form(url, {"decision": "approve"})
    assert not_finance.status_code == 403
    assert "Only a member of finance can decide on this change." in not_finance.text
    buyer = await _staff(browser, "buyer@acme.test")
    assert (await buyer.post_form(url, {"decision": "approve"})).status_code == 403
    async with db.transaction(world.system) as session:
        in_force = await account_in_force(session, world.alpha)
    assert in_force is not None
    assert in_force.account == OLD_ACCOUNT  # the old account stays in force until approval

    finance2 = await _staff(browser, world.finance["finance2"].email, PASSWORD)
    assert f'action="{url}"' in (await finance2.get(f"/suppliers/{world.alpha}")).text
    approved = await finance2.post_form(url, {"decision": "approve", "reason": "Confirmed by phone"})
    assert approved.status_code in (302, 303)
    async with db.transaction(world.system) as session:
        in_force = await account_in_force(session, world.alpha)
        decided = await session.get(SupplierChangeRequest, (world.tenant_id, change.id))
    assert in_force is not None
    assert in_force.account == NEW_ACCOUNT
    assert decided is not None
    assert (decided.status, decided.reason) == (ChangeStatus.APPROVED, "Confirmed by phone")
    again = await finance2.post_form(url, {"decision": "reject"})
    assert again.status_code == 400
    assert "This change has been decided already." in again.text


async def test_risk_tier_needs_a_reason_and_is_audited(browser: Any, db: Database, world: World) -> None:
    url = f"/suppliers/{world.chinese}/risk"
    admin = await _staff(browser)
    no_reason = await admin.post_form(url, {"risk_tier": "medium", "risk_reason": " "})
    assert no_reason.status_code == 400
    assert 'id="e-risk_reason"' in no_reason.text
    unknown = await admin.post_form(url, {"risk_tier": "extreme", "risk_reason": "Because"})
    assert unknown.status_code == 400
    assert 'id="e-risk_tier"' in unknown.text
    viewer = await _staff(browser, "viewer@acme.test")
    assert (await viewer.post_form(url, {"risk_tier": "low", "risk_reason": "x"})).status_code == 403
    async with db.transaction(world.system) as session:
        unchanged = await session.get(Supplier, (world.tenant_id, world.chinese))
    assert unchanged is not None
    assert unchanged.risk_tier is None

    saved = await admin.post_form(url, {"risk_tier": "medium", "risk_reason": "Only supplier of the X7 capacitor"})
    assert saved.status_code in (302, 303)
    async with db.transaction(world.system) as session:
        supplier = await session.get(Supplier, (world.tenant_id, world.chinese))
        changes = await session.scalar(
            select(AuditEvent.changes).where(
                AuditEvent.object_id == world.chinese, AuditEvent.action == "supplier.risk_set"
            )
        )
    assert supplier is not None
    assert (supplier.risk_tier, supplier.risk_reason) == ("medium", "Only supplier of the X7 capacitor")
    assert changes == {"risk_tier": [None, "medium"], "risk_reason": [None, "Only supplier of the X7 capacitor"]}


async def test_blocking_needs_a_reason_and_unblocking_restores(browser: Any, db: Database, world: World) -> None:
    url = f"/suppliers/{world.chinese}/status"
    admin = await _staff(browser)
    assert 'id="block-form"' in (await admin.get(f"/suppliers/{world.chinese}")).text
    no_reason = await admin.post_form(url, {"action": "block", "status_reason": "  "})
    assert no_reason.status_code == 400
    assert 'id="e-status_reason"' in no_reason.text
    no_action = await admin.post_form(url, {"status_reason": "x"})
    assert no_action.status_code == 400
    assert 'id="e-status-action"' in no_action.text
    viewer = await _staff(browser, "viewer@acme.test")
    assert (await viewer.post_form(url, {"action": "block", "status_reason": "x"})).status_code == 403
    async with db.transaction(world.system) as session:
        unchanged = await session.get(Supplier, (world.tenant_id, world.chinese))
        assert unchanged is not None
        assert unchanged.status == "active"

    blocked = await admin.post_form(url, {"action": "block", "status_reason": "Quality audit failed in May"})
    assert blocked.status_code in (302, 303)
    page = (await admin.get(f"/suppliers/{world.chinese}")).text
    assert 'id="supplier-status">Blocked' in page
    assert "Quality audit failed in May" in page
    assert 'id="unblock-form"' in page
    # a second "block" (another tab, a double click) finds it blocked already: 409, nothing changes
    assert (await admin.post_form(url, {"action": "block", "status_reason": "again"})).status_code == 409

    assert (await admin.post_form(url, {"action": "unblock"})).status_code in (302, 303)
    assert (await admin.post_form(url, {"action": "unblock"})).status_code == 409
    async with db.transaction(world.system) as session:
        supplier = await session.get(Supplier, (world.tenant_id, world.chinese))
        trail = list(
            (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.changes)
                    .where(
                        AuditEvent.object_id == world.chinese,
                        AuditEvent.action.in_(["supplier.blocked", "supplier.unblocked"]),
                    )
                    .order_by(AuditEvent.occurred_at)
                )
            ).tuples()
        )
    assert supplier is not None
    assert (supplier.status, supplier.status_reason) == ("active", None)
    assert trail == [
        (
            "supplier.blocked",
            {"status": ["active", "blocked"], "status_reason": [None, "Quality audit failed in May"]},
        ),
        (
            "supplier.unblocked",
            {"status": ["blocked", "active"], "status_reason": ["Quality audit failed in May", None]},
        ),
    ]


# --- downloads and other tenants -------------------------------------------------------------------


async def test_document_download(app: HostDispatcher, browser: Any, db: Database, world: World) -> None:
    key = f"{world.tenant_id}/{new_id().hex}.pdf"
    await storage_from(app.tenant.state.settings).put(key, PDF)
    async with db.transaction(world.system) as session:
        document = await add_document(
            session,
            world.alpha,
            _document(world.document_type, key, expires_on=TODAY + timedelta(days=200), filename="营业执照 2026.pdf"),
        )
    url = f"/suppliers/{world.alpha}/documents/{document.id}/file"
    for email in ("admin@acme.test", "viewer@acme.test"):
        staff = await _staff(browser, email)
        response = await staff.get(url)
        assert response.status_code == 200
        assert response.content == PDF
        assert response.headers["content-type"].startswith("application/pdf")
        assert response.headers["x-content-type-options"] == "nosniff"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        assert f"filename*=UTF-8''{quote('营业执照 2026.pdf', safe='')}" in disposition

    admin = await _staff(browser)
    # asked for in the tab, a PDF is saved all the same (Chromium's viewer would run its JavaScript,
    # sandbox or not), and the page offers no "View" for it but says why
    kept = await admin.get(url, params={"inline": "true"})
    assert kept.content == PDF
    assert kept.headers["content-disposition"].startswith('attachment; filename="')
    supplier_page = (await admin.get(f"/suppliers/{world.alpha}")).text
    assert f'href="{url}?inline=true"' not in supplier_page
    assert 'id="downloads-only"' in supplier_page
    # a picture is shown in the tab, in a sandboxed document of its own
    picture_key = f"{world.tenant_id}/{new_id().hex}.png"
    await storage_from(app.tenant.state.settings).put(picture_key, png())
    async with db.transaction(world.system) as session:
        picture = await add_document(
            session,
            world.alpha,
            NewDocument(
                f"{world.document_type}_photo", "plant.png", picture_key, "image/png", len(png()), "0" * 64, None, None
            ),
        )
    picture_url = f"/suppliers/{world.alpha}/documents/{picture.id}/file"
    shown = await admin.get(picture_url, params={"inline": "true"})
    assert shown.content == png()
    assert shown.headers["content-disposition"].startswith('inline; filename="plant.png"')
    assert shown.headers.get_list("content-security-policy") == [SANDBOXED_FILE_POLICY]
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert f'src="{picture_url}?inline=true"' in (await admin.get(f"/suppliers/{world.alpha}")).text
    office_key = f"{world.tenant_id}/{new_id().hex}.docx"
    await storage_from(app.tenant.state.settings).put(office_key, b"PK office")
    async with db.transaction(world.system) as session:
        office = await add_document(
            session,
            world.alpha,
            NewDocument(
                f"{world.document_type}_sheet",
                "prices.docx",
                office_key,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                9,
                "0" * 64,
                None,
                None,
            ),
        )
    saved = await admin.get(f"/suppliers/{world.alpha}/documents/{office.id}/file", params={"inline": "true"})
    assert saved.headers["content-disposition"].startswith('attachment; filename="prices.docx"')
    assert (await admin.get(f"/suppliers/{world.chinese}/documents/{document.id}/file")).status_code == 404
    assert (await admin.get(f"/suppliers/{world.alpha}/documents/{new_id()}/file")).status_code == 404
    supplier = browser("acme.localhost")
    await supplier.login("supplier@acme.test")
    assert (await supplier.get(url)).status_code == 404

    globex = browser("globex.localhost")
    assert (await globex.login("admin@globex.test")).status_code in (302, 303)
    # globex's admin on globex's host, asking for acme's ids: there is no such thing there
    assert (await globex.get(url)).status_code == 404
    # and presenting that session on acme's host: nobody is logged in there
    intruder = browser("acme.localhost")
    intruder.client.cookies.set("merkato_session", globex.client.cookies["merkato_session"])
    bounced = await intruder.get(url)
    assert bounced.status_code in (302, 303)
    assert bounced.headers["location"].startswith("/login?")


async def test_other_tenants_ids_are_404(
    browser: Any, db: Database, demo: Any, world: World, owner_engine: AsyncEngine
) -> None:
    async with db.transaction(world.finance["finance1"].context) as session:
        change = await propose_value(session, world.alpha, ChangeKind.TAX_ID, "DE136695976")
    async with db.transaction(world.system) as session:
        document_id = await session.scalar(
            select(SupplierDocument.id).where(SupplierDocument.supplier_id == world.chinese)
        )
    globex = browser("globex.localhost")
    await globex.login("admin@globex.test")  # an owner there: every permission but finance's, in its own tenant
    assert (await globex.get(f"/suppliers/{world.alpha}")).status_code == 404
    for path, data in (
        (f"/suppliers/{world.alpha}/risk", {"risk_tier": "low", "risk_reason": "x"}),
        (f"/suppliers/{world.alpha}/registration", {"action": "approve"}),
        (f"/suppliers/{world.chinese}/documents/{document_id}/review", {"decision": "approve"}),
    ):
        assert (await globex.post_form(path, data)).status_code == 404, path
    email = f"finance-{world.token}@globex.test"
    globex_finance = await add_login(db, demo.tenants["globex"].id, email, MembershipKind.STAFF, roles=["finance"])
    try:
        decider = browser("globex.localhost")
        assert (await decider.login(email)).status_code in (302, 303)
        decision = await decider.post_form(f"/suppliers/{world.alpha}/changes/{change.id}", {"decision": "approve"})
        assert decision.status_code == 404
    finally:
        await remove_people(owner_engine, [globex_finance])
    # acme's admin with a globex supplier's id
    admin = await _staff(browser)
    globex_supplier = demo.tenants["globex"].supplier_ids[0]
    assert (await admin.get(f"/suppliers/{globex_supplier}")).status_code == 404
    assert (
        await admin.post_form(f"/suppliers/{globex_supplier}/risk", {"risk_tier": "low", "risk_reason": "x"})
    ).status_code == 404
    # and the supplier list of globex shows none of acme's
    listed = _names((await globex.get("/suppliers", params={"q": world.token})).text)
    assert '<td><a href="/suppliers/' not in listed  # globex reads Chinese: no row, whatever the words
