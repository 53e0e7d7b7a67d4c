"""The onboarding set-up over HTTP: categories (validated, unique codes, a parent from the tree),
each category's document checklist (a new required document moves the category's suppliers to
pending at once, removing it brings them back), and versioned supplier terms; all audited, and
managers only."""

from __future__ import annotations

import io
import secrets
from datetime import date
from typing import Any

from sqlalchemy import select

from backend.accounts.service import PersonForm, add_person
from backend.dev.demo import DemoData
from backend.models import (
    AuditEvent,
    DocumentRequirement,
    MembershipKind,
    SupplierCategory,
    SupplierQualification,
    SupplierTerms,
    Tenant,
)
from backend.suppliers.qualification import create_category, require_document, supply_category
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.people import give_login
from tests.uploads import samples


async def _admin(browser: Any) -> Any:
    admin = browser("acme.localhost")
    await admin.login("admin@acme.test")
    return admin


async def test_categories_are_validated_and_audited(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    page = await admin.get("/suppliers/setup")
    assert page.status_code == 200
    assert "Electronic components" in page.text  # the demo's checklist
    assert 'id="terms-version"' in page.text

    empty = await admin.post_form("/suppliers/setup/categories", {"code": "", "name": ""})
    assert empty.status_code == 400
    assert 'id="e-code"' in empty.text
    assert 'id="e-category-name"' in empty.text
    taken = await admin.post_form("/suppliers/setup/categories", {"code": "elec", "name": "Again"})
    assert taken.status_code == 400
    assert "Another category has this code." in taken.text
    orphan = await admin.post_form(
        "/suppliers/setup/categories", {"code": "X1", "name": "X", "parent": "0192f7a0-0000-7000-8000-000000000000"}
    )
    assert orphan.status_code == 400
    assert 'id="e-parent"' in orphan.text

    code = f"SUB{secrets.token_hex(2)}".upper()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        parent_id = await session.scalar(select(SupplierCategory.id).where(SupplierCategory.code == "ELEC"))
    made = await admin.post_form(
        "/suppliers/setup/categories", {"code": code, "name": "Passive components", "parent": str(parent_id)}
    )
    assert made.status_code in (302, 303)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await session.scalar(select(SupplierCategory).where(SupplierCategory.code == code))
        assert category is not None
        assert (category.name, category.parent_id) == ("Passive components", parent_id)
        audited = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "category.created", AuditEvent.object_id == category.id)
        )
        assert audited is not None
        assert audited.identity_id == acme.identity("admin")
    assert "under Electronic components" in (await admin.get("/suppliers/setup")).text


async def test_a_new_required_document_moves_the_categorys_suppliers(
    browser: Any, db: Database, demo: DemoData
) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    code = f"CK{secrets.token_hex(2)}".upper()
    assert (await admin.post_form("/suppliers/setup/categories", {"code": code, "name": "Checked"})).status_code in (
        302,
        303,
    )
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await session.scalar(select(SupplierCategory).where(SupplierCategory.code == code))
        assert category is not None
        # a supplier of a category that asks for nothing is qualified there
        await supply_category(session, acme.supplier_ids[2], category.id, today=date.today())
    url = f"/suppliers/setup/categories/{category.id}/requirements"

    async def standing() -> str:
        async with db.transaction(TenantContext.system(acme.id)) as session:
            status = await session.scalar(
                select(SupplierQualification.status).where(
                    SupplierQualification.supplier_id == acme.supplier_ids[2],
                    SupplierQualification.category_id == category.id,
                )
            )
        return str(status)

    assert await standing() == "qualified"
    wrong = await admin.post_form(url, {"name": "ISO 14001", "document_type": "ISO 14001", "expires": "yes"})
    assert wrong.status_code == 400
    assert f'id="e-{code}-document_type"' in wrong.text
    document_type = f"iso_{code.lower()}"
    added = await admin.post_form(url, {"name": "ISO 14001", "document_type": document_type, "expires": "yes"})
    assert added.status_code in (302, 303)
    again = await admin.post_form(url, {"name": "ISO 14001", "document_type": document_type})
    assert again.status_code == 400
    assert "This category asks for this document already." in again.text
    assert await standing() == "pending"  # the document it now needs is missing

    async with db.transaction(TenantContext.system(acme.id)) as session:
        requirement = await session.scalar(
            select(DocumentRequirement).where(DocumentRequirement.category_id == category.id)
        )
        assert requirement is not None
        assert requirement.expires is True
    assert (await admin.post_form(f"/suppliers/setup/requirements/{requirement.id}/remove")).status_code in (302, 303)
    assert await standing() == "qualified"
    assert (await admin.post_form(f"/suppliers/setup/requirements/{requirement.id}/remove")).status_code == 404
    async with db.transaction(TenantContext.system(acme.id)) as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == category.id, AuditEvent.action.like("requirement.%"))
                .order_by(AuditEvent.occurred_at)
            )
        )
    assert actions == ["requirement.added", "requirement.removed"]


async def test_terms_are_published_as_versions(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    admin = await _admin(browser)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        latest = await session.scalar(select(SupplierTerms).order_by(SupplierTerms.version.desc()).limit(1))
        assert latest is not None
    assert (await admin.post_form("/suppliers/setup/terms", {"body": "  "})).status_code == 400
    same = await admin.post_form("/suppliers/setup/terms", {"body": latest.body})
    assert same.status_code == 400
    assert "This is the text in force already." in same.text
    text = f"Acme supplier terms, revised {secrets.token_hex(2)}.\r\nPayment in 45 days."
    assert (await admin.post_form("/suppliers/setup/terms", {"body": text})).status_code in (302, 303)
    async with db.transaction(TenantContext.system(acme.id)) as session:
        versions = list(await session.scalars(select(SupplierTerms).order_by(SupplierTerms.version)))
    assert [terms.version for terms in versions][-2:] == [latest.version, latest.version + 1]
    assert versions[-1].body == text.replace("\r\n", "\n")
    assert versions[-1].published_by == acme.identity("admin")
    assert versions[-2].body == latest.body  # the earlier version stays as it was
    # what a registering supplier reads now
    draft_terms = versions[-1].body.split("\n")[0]
    assert draft_terms in (await admin.get("/suppliers/setup")).text


async def test_only_managers_set_up(browser: Any) -> None:
    viewer = browser("acme.localhost")
    await viewer.login("viewer@acme.test")
    assert (await viewer.get("/suppliers/setup")).status_code == 403
    assert (await viewer.post_form("/suppliers/setup/terms", {"body": "Mine now"})).status_code == 403


async def test_the_tenant_chooses_the_office_formats_it_takes(browser: Any, db: Database, demo: DemoData) -> None:
    """Without XLSX in acme's choice, a supplier's spreadsheet is refused and the form says what is
    accepted; a DOCX still goes through. Then acme takes both again."""
    acme = demo.tenants["acme"]
    code = f"OF{secrets.token_hex(2)}".upper()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, "Office formats")
        await require_document(session, category, f"sheet_{code.lower()}", "Price sheet", expires=False)
        await supply_category(session, acme.supplier_ids[3], category.id, today=date.today())
    admin = await _admin(browser)
    assert (await admin.post_form("/suppliers/setup/uploads", {"office": "exe"})).status_code == 400
    assert (await admin.post_form("/suppliers/setup/uploads", {"office": "docx"})).status_code in (302, 303)
    try:
        email = f"sheets-{code.lower()}@example.test"
        async with db.transaction(TenantContext.system(acme.id)) as session:
            await give_login(session, email, "x" * 12, "Sheet Person")
            await add_person(
                session,
                PersonForm(email=email, full_name="Sheet Person"),
                kind=MembershipKind.SUPPLIER,
                supplier_id=acme.supplier_ids[3],
            )
        page = browser("acme.localhost")
        assert (await page.login(email, "x" * 12)).status_code in (302, 303)
        shown = await page.get("/supplier/company")
        assert "File (PDF, PNG, JPEG, DOCX)" in shown.text

        async def upload(name: str, content: bytes) -> Any:
            return await page.client.post(
                "/supplier/company/documents",
                data={"document_type": f"sheet_{code.lower()}", "_csrf_token": await page.csrf_token()},
                files={"file": (name, io.BytesIO(content), "application/octet-stream")},
            )

        refused = await upload("prices.xlsx", samples.xlsx())
        assert refused.status_code == 400
        assert "XLSX files are not accepted here" in refused.text
        assert (await upload("prices.docx", samples.docx())).status_code == 302
    finally:
        assert (await admin.post_form("/suppliers/setup/uploads", {"office": ["docx", "xlsx"]})).status_code in (
            302,
            303,
        )
    async with db.transaction(TenantContext.system(acme.id)) as session:
        tenant = await session.get(Tenant, acme.id)
        assert tenant is not None
        assert tenant.supplier_office_formats == ["docx", "xlsx"]
        changes = list(
            await session.scalars(
                select(AuditEvent.changes)
                .where(AuditEvent.action == "uploads.office_formats_changed", AuditEvent.object_id == acme.id)
                .order_by(AuditEvent.occurred_at)
            )
        )
    assert changes[-2:] == [
        {"office_formats": [["docx", "xlsx"], ["docx"]]},
        {"office_formats": [["docx"], ["docx", "xlsx"]]},
    ]


async def test_one_document_has_one_rule_about_dates(browser: Any, db: Database, demo: DemoData) -> None:
    """The demo's categories ask for the business licence with dates; another category cannot ask
    for it without (an upload without dates would count as expired where dates are wanted)."""
    admin = await _admin(browser)
    code = f"DT{secrets.token_hex(2)}".upper()
    assert (await admin.post_form("/suppliers/setup/categories", {"code": code, "name": "Dates"})).status_code in (
        302,
        303,
    )
    acme = demo.tenants["acme"]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category_id = await session.scalar(select(SupplierCategory.id).where(SupplierCategory.code == code))
    url = f"/suppliers/setup/categories/{category_id}/requirements"
    refused = await admin.post_form(url, {"name": "Business licence", "document_type": "business_licence"})
    assert refused.status_code == 400
    assert f'id="e-{code}-expires"' in refused.text
    accepted = await admin.post_form(
        url, {"name": "Business licence", "document_type": "business_licence", "expires": "yes"}
    )
    assert accepted.status_code in (302, 303)
