"""Staff invite a supplier by e-mail over HTTP: the form refuses what is wrong and creates nothing;
the invitation e-mail's link opens the registration form filled in with what staff knew; the
invited person takes it up once (their address counts as verified), lands in the draft with the
chosen category, and the link is spent; a forged link or another tenant's host finds nothing."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from backend.dev.demo import DemoData
from backend.jobs.broker import load_jobs
from backend.models import (
    AuditEvent,
    Identity,
    Membership,
    Supplier,
    SupplierQualification,
    SupplierRegistration,
)
from backend.models.party import PartyStatus
from backend.suppliers.qualification import create_category
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.jobs import drain
from tests.fixtures.mail import delivered_link, mails_to

PASSWORD = "a-long-enough-password"


async def test_staff_invite_a_supplier_who_takes_up_the_invitation_once(
    browser: Any, db: Database, demo: DemoData
) -> None:
    load_jobs()
    acme = demo.tenants["acme"]
    code = f"I{secrets.token_hex(3)}".upper()
    async with db.transaction(TenantContext.system(acme.id)) as session:
        category = await create_category(session, code, "Fasteners")
        suppliers_before = await session.scalar(select(func.count()).select_from(Supplier))
    admin = browser("acme.localhost")
    await admin.login("admin@acme.test")
    form = await admin.get("/suppliers/invite")
    assert form.status_code == 200
    assert 'id="invite-form"' in form.text
    assert f"{code} · Fasteners" in form.text

    refused = await admin.post_form(
        "/suppliers/invite", {"legal_name": "", "country": "XX", "currency": "EUR", "email": "not-an-address"}
    )
    assert refused.status_code == 400
    for field in ("legal_name", "country", "email"):
        assert f'id="e-{field}"' in refused.text
    wrong_tax_id = await admin.post_form(
        "/suppliers/invite",
        {"legal_name": "Schraub AG", "country": "DE", "currency": "EUR", "tax_id": "DE000", "email": "x@example.test"},
    )
    assert wrong_tax_id.status_code == 400
    assert 'id="e-tax_id"' in wrong_tax_id.text
    async with db.transaction(TenantContext.system(acme.id)) as session:
        assert await session.scalar(select(func.count()).select_from(Supplier)) == suppliers_before

    email = f"inv-{code.lower()}@example.test"
    name = f"Schraubenwerk {code} GmbH"
    sent = await admin.post_form(
        "/suppliers/invite",
        {
            "legal_name": name,
            "country": "de",
            "currency": "EUR",
            "tax_id": "DE 136 695 976",
            "email": email.upper(),
            "contact_name": "Sven Schraub",
            "category": str(category.id),
        },
    )
    assert sent.status_code in (302, 303), sent.text
    supplier_id = UUID(sent.headers["location"].rsplit("/", 1)[1])
    async with db.transaction(TenantContext.system(acme.id)) as session:
        supplier = await session.get(Supplier, (acme.id, supplier_id))
        assert supplier is not None
        assert (supplier.name, supplier.status, supplier.country, supplier.tax_id) == (
            name,
            PartyStatus.PENDING,
            "DE",
            "136695976",  # compacted as the registration form stores it
        )
        registration = await session.scalar(
            select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier_id)
        )
        assert registration is not None
        assert (registration.invited_email, registration.registrant_id) == (email, None)
        invited = await session.scalar(
            select(AuditEvent).where(AuditEvent.action == "registration.invited", AuditEvent.object_id == supplier_id)
        )
        assert invited is not None
        assert (invited.identity_id, invited.actor_kind) == (acme.identity("admin"), "staff")
    detail = await admin.get(f"/suppliers/{supplier_id}")
    assert 'id="resend-invitation"' in detail.text
    assert email in detail.text
    await drain(db, [acme.id])
    first = await delivered_link(email)
    assert first.startswith("/supplier/register/invitation/")

    # sent again on request: a second e-mail, whose link replaces the first one's
    assert (await admin.post_form(f"/suppliers/{supplier_id}/invitation")).status_code in (302, 303)
    await drain(db, [acme.id])
    assert len(await mails_to(db, acme.id, email)) == 2
    link = await delivered_link(email)
    assert link.startswith("/supplier/register/invitation/")
    assert link != first

    visitor = browser("acme.localhost")
    opened = await visitor.get(link)
    assert opened.status_code == 200
    assert f'value="{name}"' in opened.text
    assert f'value="{email}"' in opened.text
    assert f'action="{link}"' in opened.text
    # the replaced link, a forged one, and the right one on another tenant's host find nothing
    assert (await visitor.get(first)).status_code == 404
    assert (await visitor.get(link[:-1] + ("A" if link[-1] != "A" else "B"))).status_code == 404
    assert (await browser("globex.localhost").get(link)).status_code == 404

    incomplete = await visitor.post_form(link, {"legal_name": name, "country": "DE", "currency": "EUR"})
    assert incomplete.status_code == 400
    assert 'id="e-street"' in incomplete.text
    taken_up = await visitor.post_form(
        link,
        {
            "legal_name": name,
            "country": "DE",
            "currency": "EUR",
            "tax_id": "DE136695976",
            "street": "Schraubenweg 1",
            "city": "Stuttgart",
            "full_name": "Sven Schraub",
            "login_email": email,
            "password": PASSWORD,
        },
    )
    assert taken_up.status_code in (302, 303), taken_up.text
    assert taken_up.headers["location"] == "/supplier/register/draft"
    draft = await visitor.get("/supplier/register/draft")
    assert 'data-status="draft"' in draft.text
    assert "Schraubenweg 1" in draft.text
    async with db.transaction(TenantContext.system(acme.id)) as session:
        identity = await session.scalar(select(Identity).where(Identity.email == email))
        assert identity is not None
        assert identity.verified_at is not None  # the link came to this address
        membership = await session.scalar(select(Membership).where(Membership.identity_id == identity.id))
        assert membership is not None
        assert (membership.supplier_id, membership.active, membership.roles) == (supplier_id, False, ["admin"])
        registration = await session.scalar(
            select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier_id)
        )
        assert registration is not None
        assert registration.registrant_id == identity.id
        chosen = set(
            await session.scalars(
                select(SupplierQualification.category_id).where(SupplierQualification.supplier_id == supplier_id)
            )
        )
        assert chosen == {category.id}

    # spent: the link and the staff's "send again" say so, and nothing changes
    again = await browser("acme.localhost").get(link)
    assert again.status_code == 409
    assert "taken up already" in again.text
    second = await browser("acme.localhost").post_form(
        link,
        {
            "legal_name": "Hijack Ltd",
            "country": "DE",
            "currency": "EUR",
            "tax_id": "DE136695976",
            "street": "x",
            "city": "y",
            "full_name": "Mallory",
            "login_email": "mallory@example.test",
            "password": PASSWORD,
        },
    )
    assert second.status_code == 409
    assert (await admin.post_form(f"/suppliers/{supplier_id}/invitation")).status_code == 409
    async with db.transaction(TenantContext.system(acme.id)) as session:
        assert await session.scalar(select(Identity).where(Identity.email == "mallory@example.test")) is None
        supplier = await session.get(Supplier, (acme.id, supplier_id))
        assert supplier is not None
        assert supplier.name == name


async def test_viewers_cannot_invite(browser: Any, db: Database, demo: DemoData) -> None:
    viewer = browser("acme.localhost")
    await viewer.login("viewer@acme.test")
    assert (await viewer.get("/suppliers/invite")).status_code == 403
    refused = await viewer.post_form(
        "/suppliers/invite", {"legal_name": "X", "country": "DE", "currency": "EUR", "email": "x@example.test"}
    )
    assert refused.status_code == 403
