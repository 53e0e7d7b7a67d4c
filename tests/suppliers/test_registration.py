"""A supplier's registration through the services: incomplete drafts cannot be submitted (and
say what is missing), the review's state machine refuses illegal moves, a request for more
information goes back to the supplier and comes back resubmitted, approval activates the supplier
and its people, rejection keeps the record read-only; every step is audited and e-mailed; the
duplicate warning stays inside the tenant."""

from __future__ import annotations

import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import PersonForm, add_person
from backend.jobs.broker import load_jobs
from backend.kit.forms import InvalidForm
from backend.kit.ids import new_id
from backend.models import (
    AuditEvent,
    Identity,
    Membership,
    MembershipKind,
    OutgoingMail,
    Supplier,
    SupplierRegistration,
    TenantStatus,
)
from backend.parties.service import PartyForm, create_supplier
from backend.suppliers.changes import BankDetails, propose_bank_account
from backend.suppliers.qualification import (
    NewDocument,
    add_document,
    create_category,
    require_document,
    supply_category,
)
from backend.suppliers.registration import (
    CompanyForm,
    IllegalTransition,
    accept_terms,
    add_contact,
    as_registrant,
    duplicates,
    missing,
    review,
    start,
    submit,
)
from backend.suppliers.setup import publish_terms
from tenants.context import PartyKind, TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database
from tests.fixtures.jobs import drain
from tests.fixtures.people import give_login

TODAY = date(2027, 3, 1)
TAX_ID = "DE 136 695 976"


@dataclass(frozen=True)
class Desk:
    tenant_id: UUID
    category_id: UUID
    reviewer: TenantContext  # a buyer's own context, as their review runs in it
    reviewer_email: str

    @property
    def system(self) -> TenantContext:
        return TenantContext.system(self.tenant_id)


@pytest.fixture(scope="module")
async def desk(db: Database) -> Desk:
    load_jobs()
    tenant_id = new_id()
    slug = f"rg-{secrets.token_hex(3)}"
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(
            session, slug=slug, name="Registering Buyer", tenant_id=tenant_id, status=TenantStatus.ACTIVE
        )
        buyer = await add_person(
            session,
            PersonForm(email=f"buyer@{slug}.test", full_name="Bea Buyer", roles=["buyer"]),
            kind=MembershipKind.STAFF,
        )
        category = await create_category(session, "MECH", "Mechanical parts")
        await require_document(session, category, "business_licence", "Business licence")
        await publish_terms(session, "Our supplier terms, version 1.", publisher=buyer.identity_id)
    return Desk(
        tenant_id,
        category.id,
        TenantContext(tenant_id, PartyKind.STAFF, identity_id=buyer.identity_id, membership_id=buyer.id),
        f"buyer@{slug}.test",
    )


def _company(**overrides: str) -> CompanyForm:
    values = {
        "legal_name": "Neue Teile GmbH",
        "country": "DE",
        "tax_id": TAX_ID,
        "street": "Hauptstraße 1",
        "city": "Stuttgart",
        "postal_code": "70173",
        "currency": "EUR",
        **overrides,
    }
    return CompanyForm(**values)


async def _registrant(db: Database, desk: Desk) -> Identity:
    async with db.transaction(desk.system) as session:
        identity = await give_login(session, f"reg-{secrets.token_hex(4)}@example.test", "x" * 12, "Rita Registrant")
        session.expunge(identity)
    return identity


async def _registration(session: object, registration_id: UUID, tenant_id: UUID) -> SupplierRegistration:
    found = await session.get(SupplierRegistration, (tenant_id, registration_id))  # type: ignore[attr-defined]
    assert found is not None
    return found


async def test_register_request_information_resubmit_and_approve(db: Database, desk: Desk) -> None:
    registrant = await _registrant(db, desk)
    async with db.transaction(desk.system) as session:
        with pytest.raises(InvalidForm) as invalid:
            await start(session, _company(country="XX", legal_name=""), registrant=registrant)
        assert set(invalid.value.errors) == {"country", "legal_name"}
    async with db.transaction(desk.system) as session:
        with pytest.raises(InvalidForm) as invalid:
            await start(session, _company(tax_id="DE136695977"), registrant=registrant)  # a wrong check digit
        assert "VAT number" in invalid.value.errors["tax_id"]
    async with db.transaction(desk.system) as session:
        registration = await start(session, _company(), registrant=registrant)
        gaps = await missing(session, registration)
        assert len(gaps) == 4  # terms, contact, categories, bank account

    def registrant_context() -> AbstractAsyncContextManager[AsyncSession]:
        return as_registrant(db, desk.tenant_id, registration.supplier_id, registrant.id)

    async with registrant_context() as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        with pytest.raises(InvalidForm):
            await submit(session, registration)
    async with registrant_context() as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        await accept_terms(session, registration)
        await add_contact(session, registration, name="Karl Kontakt", email="karl@neue-teile.test")
        await supply_category(session, registration.supplier_id, desk.category_id, today=TODAY)
        await propose_bank_account(
            session,
            registration.supplier_id,
            BankDetails(
                holder="Neue Teile GmbH",
                account="DE89370400440532013000",
                bic="COBADEFFXXX",
                bank_name=None,
                country="DE",
            ),
        )
        assert await missing(session, registration) == ["Upload: Business licence."]
        await add_document(
            session,
            registration.supplier_id,
            NewDocument(
                "business_licence",
                "licence.pdf",
                f"{new_id()}.pdf",
                "application/pdf",
                10,
                "0" * 64,
                None,
                TODAY + timedelta(days=365),
            ),
        )
        await submit(session, registration)
        with pytest.raises(IllegalTransition):
            await submit(session, registration)
    async with db.transaction(desk.reviewer) as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        with pytest.raises(InvalidForm):
            await review(session, registration, "request_info")  # no comment
        await review(session, registration, "request_info", comment="Please add an ISO 9001 certificate.")
        with pytest.raises(IllegalTransition):
            await review(session, registration, "approve")
    async with registrant_context() as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        assert registration.review_comment == "Please add an ISO 9001 certificate."
        await submit(session, registration)
    async with db.transaction(desk.reviewer) as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        await review(session, registration, "approve")
    async with db.transaction(desk.system) as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        supplier = await session.get(Supplier, (desk.tenant_id, registration.supplier_id))
        assert supplier is not None
        membership = await session.scalar(select(Membership).where(Membership.supplier_id == supplier.id))
        assert membership is not None
        events = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.object_id == supplier.id).order_by(AuditEvent.occurred_at)
            )
        )
    assert (supplier.status, membership.active, membership.roles) == ("active", True, ["admin"])
    actions = [event.action for event in events]
    steps = [a for a in actions if a.startswith("registration.")]
    # the reviewer's words stay in the trail, though the record keeps only the latest comment
    asked = next(event for event in events if event.action == "registration.request_info")
    assert asked.changes["comment"] == [None, "Please add an ISO 9001 certificate."]
    assert asked.identity_id == desk.reviewer.identity_id
    assert registration.decided_by == desk.reviewer.identity_id
    # the draft's steps are the registrant's own, and the trail says so
    assert {event.identity_id for event in events if event.action == "registration.submit"} == {registrant.id}
    assert {event.actor_kind for event in events if event.action == "registration.submit"} == {"supplier"}
    assert steps == [
        "registration.started",
        "registration.submit",
        "registration.request_info",
        "registration.submit",
        "registration.approve",
    ]
    await drain(db, [desk.tenant_id])
    async with db.transaction(desk.system) as session:
        mails = list(
            (
                await session.execute(
                    select(OutgoingMail.to_address, OutgoingMail.subject, OutgoingMail.text_body).where(
                        OutgoingMail.template == "supplier_registration"
                    )
                )
            ).tuples()
        )
    to_reviewer = [m for m in mails if m[0] == desk.reviewer_email]
    to_registrant = [m for m in mails if m[0] == registrant.email]
    assert len(to_reviewer) == 2  # two submissions
    assert len(to_registrant) == 2  # more information needed, then approved
    assert any("ISO 9001" in body for _to, _subject, body in to_registrant)


async def test_a_rejected_registration_keeps_a_read_only_record(db: Database, desk: Desk) -> None:
    registrant = await _registrant(db, desk)
    async with db.transaction(desk.system) as session:
        registration = await start(
            session,
            _company(legal_name="Rejected Parts Ltd", country="GB", currency="GBP", tax_id="GB980780684"),
            registrant=registrant,
        )
        registration.status = "submitted"  # reviewed as if complete: the review is what is tested here
        await session.flush()
    async with db.transaction(desk.reviewer) as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        await review(session, registration, "reject", comment="We do not buy from this region.")
    async with as_registrant(db, desk.tenant_id, registration.supplier_id, registrant.id) as session:
        registration = await _registration(session, registration.id, desk.tenant_id)
        with pytest.raises(IllegalTransition):
            await add_contact(session, registration, name="Late", email="late@example.test")
    async with db.transaction(desk.system) as session:
        supplier = await session.get(Supplier, (desk.tenant_id, registration.supplier_id))
        assert supplier is not None
        assert supplier.status == "rejected"
        membership_active = await session.scalar(select(Membership.active).where(Membership.supplier_id == supplier.id))
    assert membership_active is False


async def test_duplicate_tax_ids_are_found_inside_the_tenant_only(db: Database, desk: Desk, demo: object) -> None:
    registrant = await _registrant(db, desk)
    async with db.transaction(desk.system) as session:
        existing = await create_supplier(
            session, PartyForm(name="Old Teile", country="DE", currency="EUR", tax_id="DE136695976")
        )
        registration = await start(session, _company(legal_name="Teile Again GmbH"), registrant=registrant)
        supplier = await session.get(Supplier, (desk.tenant_id, registration.supplier_id))
        assert supplier is not None
        found = {s.id for s in await duplicates(session, supplier)}
    assert existing.id in found
    # another tenant with the same tax id is invisible from here
    acme = demo.tenants["acme"]  # type: ignore[attr-defined]
    async with db.transaction(TenantContext.system(acme.id)) as session:
        elsewhere = await create_supplier(
            session, PartyForm(name="Teile in Acme", country="DE", currency="EUR", tax_id="DE136695976")
        )
    async with db.transaction(desk.system) as session:
        supplier = await session.get(Supplier, (desk.tenant_id, registration.supplier_id))
        assert supplier is not None
        again = {s.id for s in await duplicates(session, supplier)}
        total = await session.scalar(select(func.count()).select_from(Supplier).where(Supplier.id == elsewhere.id))
    assert elsewhere.id not in again
    assert total == 0


async def test_terms_are_accepted_by_version(db: Database, desk: Desk) -> None:
    """A new version of the terms asks every open registration to accept again."""
    registrant = await _registrant(db, desk)
    async with db.transaction(desk.system) as session:
        registration = await start(session, _company(legal_name="Terms Reader GmbH"), registrant=registrant)
        await accept_terms(session, registration)
        assert "Accept the supplier terms." not in await missing(session, registration)
        published = await publish_terms(session, "Our supplier terms, version 2.", publisher=None)
        with pytest.raises(InvalidForm):  # the same text again is no new version
            await publish_terms(session, " Our supplier terms, version 2. ", publisher=None)
        assert "Accept the supplier terms." in await missing(session, registration)
        await accept_terms(session, registration)
        supplier = await session.get(Supplier, (desk.tenant_id, registration.supplier_id))
        assert supplier is not None
        assert supplier.terms_version == published.version
        assert "Accept the supplier terms." not in await missing(session, registration)
