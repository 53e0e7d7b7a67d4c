"""The supplier's own company in its portal: direct changes are audited, sensitive ones become
change requests (the bank account in force does not change), documents show where they stand and
take new versions, supplier admins invite colleagues; and supplier B never reaches A's data."""

from __future__ import annotations

import io
import re
import secrets
from datetime import date
from typing import Any

import weasyprint
from sqlalchemy import func, select

from backend.dev.demo import DemoData
from backend.models import AuditEvent, Identity, Membership, SupplierChangeRequest, SupplierDocument
from backend.suppliers.qualification import create_category, require_document, supply_category
from tenants.context import TenantContext
from tenants.isolation import Database


async def _count(db: Database, demo: DemoData, model: Any, supplier_index: int) -> int:
    acme = demo.tenants["acme"]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        return (
            await session.scalar(
                select(func.count()).select_from(model).where(model.supplier_id == acme.supplier_ids[supplier_index])
            )
            or 0
        )


async def test_the_supplier_keeps_its_company_current(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    page = browser("acme.localhost")
    assert (await page.login("supplier@acme.test")).headers["location"] == "/supplier"
    shown = await page.get("/supplier/company")
    assert shown.status_code == 200
    assert 'id="colleague-form"' in shown.text  # the demo's first supplier user administers its company

    saved = await page.post_form(
        "/supplier/company", {"street": "Shennan Road 1", "city": "Shenzhen", "phone": "+86 755 1"}
    )
    assert saved.status_code == 302
    async with db.transaction(TenantContext.system(acme.id)) as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "supplier.profile_changed", AuditEvent.object_id == acme.supplier_ids[0])
        )
    assert audited
    missing_city = await page.post_form("/supplier/company", {"street": "x", "city": ""})
    assert missing_city.status_code == 400
    assert 'id="e-city"' in missing_city.text

    before = await _count(db, demo, SupplierChangeRequest, 0)
    bad_tax = await page.post_form("/supplier/company/changes", {"kind": "tax_id", "value": "123"})
    assert bad_tax.status_code == 400
    assert "unified social credit code" in bad_tax.text  # the demo supplier is in China
    name_change = await page.post_form(
        "/supplier/company/changes", {"kind": "legal_name", "value": "华强电子（深圳）有限公司"}
    )
    assert name_change.status_code == 302
    bank = {"holder": "华强电子", "country": "CN", "iban_or_account": "6222 0210 0104 5678 901", "bic": "ICBKCNBJSZN"}
    assert (await page.post_form("/supplier/company/bank", bank)).status_code == 302
    assert await _count(db, demo, SupplierChangeRequest, 0) == before + 2
    after = await page.get("/supplier/company")
    assert 'id="account-in-force"' in after.text
    assert "…8901" not in after.text.split('id="account-in-force"')[1][:80]  # still pending: not in force

    hostile = await page.client.post(
        "/supplier/company/documents",
        data={"document_type": "x", "_csrf_token": await page.csrf_token()},
        files={"file": ("x.pdf", io.BytesIO(b"MZ\x90\x00"), "application/pdf")},
    )
    assert hostile.status_code == 400

    invited = await page.post_form(
        "/supplier/company/colleagues",
        {"email": "accounts@huaqiang.test", "full_name": "Li Kuaiji", "role": "accounting"},
    )
    assert invited.status_code == 302
    async with db.transaction(TenantContext.system(acme.id)) as session:
        roles = await session.scalar(
            select(Membership.roles)
            .where(Membership.supplier_id == acme.supplier_ids[0])
            .order_by(Membership.created_at.desc())
            .limit(1)
        )
    assert roles == ["accounting"]


async def test_a_colleague_without_the_admin_role_cannot_invite(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, acme.membership("supplier2")))
        assert membership is not None
        membership.roles = ["sales"]
    page = browser("acme.localhost")
    await page.login("supplier2@acme.test")
    assert 'id="colleague-form"' not in (await page.get("/supplier/company")).text
    refused = await page.post_form(
        "/supplier/company/colleagues", {"email": "x@y.test", "full_name": "X", "role": "admin"}
    )
    assert refused.status_code == 403
    # sales keep no company data: profile, legal data and the bank account are the admins' (and
    # the bank account accounting's too)
    shown = (await page.get("/supplier/company")).text
    assert 'id="change-form"' not in shown
    assert 'id="bank-change-form"' not in shown
    assert 'id="save-profile"' not in shown
    bank = {"holder": "Müller", "country": "DE", "iban_or_account": "DE89370400440532013000"}
    changes_before = await _count(db, demo, SupplierChangeRequest, 1)
    assert (await page.post_form("/supplier/company", {"street": "x", "city": "y"})).status_code == 403
    assert (await page.post_form("/supplier/company/changes", {"kind": "legal_name", "value": "X"})).status_code == 403
    assert (await page.post_form("/supplier/company/bank", bank)).status_code == 403
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, acme.membership("supplier2")))
        assert membership is not None
        membership.roles = ["accounting"]
    # new roles end the session made with the old ones: in again, as accounting
    assert (await page.get("/supplier/company")).headers["location"].startswith("/login")
    await page.login("supplier2@acme.test")
    assert 'id="bank-change-form"' in (await page.get("/supplier/company")).text
    assert (await page.post_form("/supplier/company/bank", bank)).status_code == 302
    assert await _count(db, demo, SupplierChangeRequest, 1) == changes_before + 1
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, acme.membership("supplier2")))
        assert membership is not None
        membership.roles = ["admin"]


async def test_supplier_b_sees_only_its_own_company(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    page = browser("acme.localhost")
    await page.login("supplier2@acme.test")
    shown = await page.get("/supplier/company")
    assert "Müller" in shown.text  # acme's second supplier
    assert "华强" not in shown.text
    # B tries to put a document on supplier A: the company is the login's, never the form's, and
    # the buyer asks B for no business licence (only what its own categories require is taken)
    before = (await _count(db, demo, SupplierDocument, 0), await _count(db, demo, SupplierDocument, 1))
    pdf = weasyprint.HTML(string="<p>x</p>").write_pdf()
    refused = await page.client.post(
        "/supplier/company/documents",
        data={
            "document_type": "business_licence",
            "supplier_id": str(acme.supplier_ids[0]),
            "issued_on": "2026-01-05",
            "expires_on": "2031-01-05",
            "_csrf_token": await page.csrf_token(),
        },
        files={"file": ("x.pdf", io.BytesIO(pdf), "application/pdf")},
    )
    assert refused.status_code == 400
    assert 'id="document-type-error"' in refused.text
    assert "Choose which document this is." in refused.text
    assert "Müller" in refused.text  # the form came back on B's own page
    assert (await _count(db, demo, SupplierDocument, 0), await _count(db, demo, SupplierDocument, 1)) == before


async def test_only_documents_its_categories_ask_for(browser: Any, db: Database, demo: DemoData) -> None:
    """Supplier B supplies a category that asks for a licence; another category of the tenant asks
    for an ISO certificate. B may upload the licence, not the certificate: nobody asked B for it."""
    acme = demo.tenants["acme"]
    code = f"K{secrets.token_hex(3)}".upper()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        supplied = await create_category(session, f"{code}A", "Cables")
        await require_document(session, supplied, f"licence_{code.lower()}", "Licence")
        other = await create_category(session, f"{code}B", "Chemicals")
        await require_document(session, other, f"iso_{code.lower()}", "ISO 14001")
        await supply_category(session, acme.supplier_ids[1], supplied.id, today=date.today())
    page = browser("acme.localhost")
    await page.login("supplier2@acme.test")
    pdf = weasyprint.HTML(string="<p>certificate</p>").write_pdf()
    dates = {"issued_on": "2026-01-05", "expires_on": "2031-01-05", "_csrf_token": await page.csrf_token()}

    async def upload(document_type: str) -> Any:
        return await page.client.post(
            "/supplier/company/documents",
            data={"document_type": document_type, **dates},
            files={"file": ("certificate.pdf", io.BytesIO(pdf), "application/pdf")},
        )

    before = await _count(db, demo, SupplierDocument, 1)
    refused = await upload(f"iso_{code.lower()}")
    assert refused.status_code == 400
    assert await _count(db, demo, SupplierDocument, 1) == before
    assert (await upload(f"licence_{code.lower()}")).status_code == 302
    assert await _count(db, demo, SupplierDocument, 1) == before + 1

    # its own upload comes back from the page's link; supplier A's people get a 404 for it
    link = re.search(r'href="(/supplier/company/documents/[^"]+/file)"', (await page.get("/supplier/company")).text)
    assert link is not None
    download = await page.get(link.group(1))
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    other = browser("acme.localhost")
    await other.login("supplier@acme.test")
    assert (await other.get(link.group(1))).status_code == 404


async def test_a_supplier_admin_sets_colleagues_roles_and_access(browser: Any, db: Database, demo: DemoData) -> None:
    acme = demo.tenants["acme"]
    page = browser("acme.localhost")
    await page.login("supplier@acme.test")
    email = f"helper-{secrets.token_hex(3)}@huaqiang.test"
    invited = await page.post_form(
        "/supplier/company/colleagues", {"email": email, "full_name": "Wu Bangshou", "role": "sales"}
    )
    assert invited.status_code == 302
    async with db.transaction(TenantContext.system(acme.id)) as session:
        colleague_id = await session.scalar(
            select(Membership.id).join(Identity, Identity.id == Membership.identity_id).where(Identity.email == email)
        )
    assert colleague_id is not None
    url = f"/supplier/company/colleagues/{colleague_id}"
    assert f'action="{url}"' in (await page.get("/supplier/company")).text

    assert (await page.post_form(url, {"role": "boss"})).status_code == 400
    assert (await page.post_form(url, {"role": "accounting"})).status_code == 302
    assert (await page.post_form(url, {"access": "off"})).status_code == 302
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, colleague_id))
        assert membership is not None
        assert (membership.roles, membership.active) == (["accounting"], False)
        trail = list(
            (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.identity_id)
                    .where(AuditEvent.object_id == colleague_id)
                    .order_by(AuditEvent.occurred_at)
                )
            ).tuples()
        )
    assert trail[-2:] == [
        ("membership.roles_changed", acme.identity("supplier")),
        ("membership.deactivated", acme.identity("supplier")),
    ]
    assert (await page.post_form(url, {"access": "on"})).status_code == 302

    # inviting again says so; the buyer's staff and other suppliers' people get one neutral answer
    again = await page.post_form("/supplier/company/colleagues", {"email": email, "full_name": "W", "role": "sales"})
    assert again.status_code == 400
    assert "your colleague already" in again.text
    for outsider in ("admin@acme.test", "supplier2@acme.test", "customer@acme.test"):
        refused = await page.post_form(
            "/supplier/company/colleagues", {"email": outsider, "full_name": "X", "role": "sales"}
        )
        assert refused.status_code == 400
        assert "This address cannot be invited. Please use another one." in refused.text

    # the company keeps its administrator, who cannot lock themselves out
    me = f"/supplier/company/colleagues/{acme.membership('supplier')}"
    demoted = await page.post_form(me, {"role": "sales"})
    assert demoted.status_code == 400
    assert "at least one active administrator" in demoted.text
    assert (await page.post_form(me, {"access": "off"})).status_code == 400
    # another supplier's admin does not reach this colleague
    other = browser("acme.localhost")
    await other.login("supplier2@acme.test")
    assert (await other.post_form(url, {"role": "admin"})).status_code == 404
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.get(Membership, (acme.id, colleague_id))
        assert membership is not None
        assert (membership.roles, membership.active) == (["accounting"], True)
