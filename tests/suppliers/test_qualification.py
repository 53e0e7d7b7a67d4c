"""Qualification documents and their expiry, with a moved clock: a category's checklist, review,
reminders at 30 and 7 days (once each, to the supplier's people and the buyers), the standing
lost the day after a document expires and won back when a valid version is approved; and the
database's walls around documents and qualifications for supplier users."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from backend.accounts.service import PersonForm, add_person
from backend.jobs.broker import load_jobs
from backend.kit.ids import new_id
from backend.models import (
    AuditEvent,
    MembershipKind,
    OutgoingMail,
    QualificationStatus,
    SupplierCategory,
    SupplierDocument,
    SupplierQualification,
    TenantStatus,
)
from backend.parties.service import PartyForm, create_supplier
from backend.suppliers.qualification import (
    NewDocument,
    add_document,
    create_category,
    require_document,
    review_document,
    supply_category,
)
from backend.suppliers.tasks import check_documents
from tenants.context import PartyKind, TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database

DAY0 = date(2027, 1, 10)


@dataclass(frozen=True)
class Buyer:
    tenant_id: UUID
    supplier_id: UUID
    other_supplier_id: UUID
    category_id: UUID
    supplier_user: str
    supplier_user_identity: UUID
    buyer: str
    viewer: str

    @property
    def system(self) -> TenantContext:
        return TenantContext.system(self.tenant_id)


def _upload(document_type: str, expires_on: date | None) -> NewDocument:
    return NewDocument(
        document_type=document_type,
        filename=f"{document_type}.pdf",
        storage_key=f"{new_id()}.pdf",
        mime_type="application/pdf",
        size=1234,
        sha256=secrets.token_hex(32),
        issued_on=DAY0 - timedelta(days=300),
        expires_on=expires_on,
    )


@pytest.fixture(scope="module")
async def buyer(db: Database) -> Buyer:
    load_jobs()
    tenant_id = new_id()
    slug = f"ql-{secrets.token_hex(3)}"
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(
            session, slug=slug, name="Qualifying Buyer", tenant_id=tenant_id, status=TenantStatus.ACTIVE
        )
        supplier = await create_supplier(session, PartyForm(name="Doc Supplier", country="DE", currency="EUR"))
        other = await create_supplier(session, PartyForm(name="Other Supplier", country="CN", currency="CNY"))
        for email, kind, roles, party in (
            (f"buyer@{slug}.test", MembershipKind.STAFF, ["buyer"], None),
            (f"viewer@{slug}.test", MembershipKind.STAFF, ["viewer"], None),
            (f"sales@{slug}.test", MembershipKind.SUPPLIER, [], supplier.id),
        ):
            form = PersonForm(email=email, full_name=email.split("@")[0].title(), roles=roles)
            membership = await add_person(session, form, kind=kind, supplier_id=party)
        category = await create_category(session, "ELEC", "Electronics")
        await require_document(session, category, "business_licence", "Business licence")
        await require_document(session, category, "iso_9001", "ISO 9001 certificate")
        await require_document(session, category, "terms", "Signed supplier terms", expires=False)
        await supply_category(session, supplier.id, category.id, today=DAY0)
    return Buyer(
        tenant_id=tenant_id,
        supplier_id=supplier.id,
        other_supplier_id=other.id,
        category_id=category.id,
        supplier_user=f"sales@{slug}.test",
        supplier_user_identity=membership.identity_id,  # the last one added: the supplier's user
        buyer=f"buyer@{slug}.test",
        viewer=f"viewer@{slug}.test",
    )


async def _standing(db: Database, buyer: Buyer) -> str:
    async with db.transaction(buyer.system) as session:
        status = await session.scalar(
            select(SupplierQualification.status).where(SupplierQualification.supplier_id == buyer.supplier_id)
        )
    assert status is not None
    return status


async def _reminders(db: Database, buyer: Buyer) -> list[str]:
    async with db.transaction(buyer.system) as session:
        return list(
            await session.scalars(
                select(OutgoingMail.to_address)
                .where(OutgoingMail.template == "supplier_document_expiring")
                .order_by(OutgoingMail.created_at, OutgoingMail.to_address)
            )
        )


async def _run_job(db: Database, buyer: Buyer, day: date) -> None:
    async with db.transaction(buyer.system) as session:
        await check_documents(session, today=day.isoformat())


async def test_documents_qualify_expire_with_reminders_once_and_recover(db: Database, buyer: Buyer) -> None:
    assert await _standing(db, buyer) == QualificationStatus.PENDING
    async with db.transaction(buyer.system) as session:
        licence = await add_document(session, buyer.supplier_id, _upload("business_licence", DAY0 + timedelta(days=40)))
        iso = await add_document(session, buyer.supplier_id, _upload("iso_9001", DAY0 + timedelta(days=400)))
        terms = await add_document(session, buyer.supplier_id, _upload("terms", None))
    assert await _standing(db, buyer) == QualificationStatus.PENDING  # uploaded is not approved
    async with db.transaction(buyer.system) as session:
        for document in (licence, iso):
            await review_document(session, await session.merge(document), approve=True, today=DAY0)
    assert await _standing(db, buyer) == QualificationStatus.PENDING  # the terms still wait
    async with db.transaction(buyer.system) as session:
        await review_document(session, await session.merge(terms), approve=True, today=DAY0)
    assert await _standing(db, buyer) == QualificationStatus.QUALIFIED

    await _run_job(db, buyer, DAY0)
    assert await _reminders(db, buyer) == []
    # 30 days before: the supplier's people and the buyers (not the viewer), once
    for day in (DAY0 + timedelta(days=10), DAY0 + timedelta(days=11), DAY0 + timedelta(days=20)):
        await _run_job(db, buyer, day)
    first = await _reminders(db, buyer)
    assert sorted(first) == sorted([buyer.buyer, buyer.supplier_user])
    # 7 days before: once more, once
    for day in (DAY0 + timedelta(days=33), DAY0 + timedelta(days=35)):
        await _run_job(db, buyer, day)
    assert len(await _reminders(db, buyer)) == 4
    # valid through its expiry date, expired the day after
    await _run_job(db, buyer, DAY0 + timedelta(days=40))
    assert await _standing(db, buyer) == QualificationStatus.QUALIFIED
    await _run_job(db, buyer, DAY0 + timedelta(days=41))
    assert await _standing(db, buyer) == QualificationStatus.EXPIRED
    await _run_job(db, buyer, DAY0 + timedelta(days=42))
    assert len(await _reminders(db, buyer)) == 4
    # a new version uploaded and approved: qualified again, the old one superseded
    async with db.transaction(buyer.system) as session:
        renewed = await add_document(
            session, buyer.supplier_id, _upload("business_licence", DAY0 + timedelta(days=800))
        )
        assert renewed.version == 2
        await review_document(session, renewed, approve=True, today=DAY0 + timedelta(days=42))
        statuses = dict(
            (
                await session.execute(
                    select(SupplierDocument.version, SupplierDocument.status).where(
                        SupplierDocument.supplier_id == buyer.supplier_id,
                        SupplierDocument.document_type == "business_licence",
                    )
                )
            )
            .tuples()
            .all()
        )
        changes = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "qualification.changed", AuditEvent.object_id == buyer.supplier_id)
        )
    assert statuses == {1: "superseded", 2: "approved"}
    assert await _standing(db, buyer) == QualificationStatus.QUALIFIED
    assert changes == 3  # pending → qualified → expired → qualified


async def test_a_document_first_seen_inside_seven_days_gets_one_reminder(db: Database, buyer: Buyer) -> None:
    async with db.transaction(buyer.system) as session:
        category = await create_category(session, f"PK{secrets.token_hex(2)}", "Packaging")
        await require_document(session, category, "insurance", "Insurance certificate")
        await supply_category(session, buyer.other_supplier_id, category.id, today=DAY0)
        late = await add_document(session, buyer.other_supplier_id, _upload("insurance", DAY0 + timedelta(days=5)))
        await review_document(session, late, approve=True, today=DAY0)
    before = len(await _reminders(db, buyer))
    for day in (DAY0, DAY0 + timedelta(days=1)):
        await _run_job(db, buyer, day)
    assert len(await _reminders(db, buyer)) == before + 1  # the buyer only: Other Supplier has no users


@pytest.fixture
def supplier_context(buyer: Buyer) -> TenantContext:
    return TenantContext(
        tenant_id=buyer.tenant_id,
        party_kind=PartyKind.SUPPLIER,
        party_id=buyer.supplier_id,
        identity_id=buyer.supplier_user_identity,
    )


async def test_supplier_users_read_their_own_and_change_no_standing(
    db: Database, buyer: Buyer, supplier_context: TenantContext
) -> None:
    async with db.transaction(supplier_context) as session:
        own = await session.scalar(select(func.count()).select_from(SupplierDocument))
        foreign = await session.scalar(
            select(func.count())
            .select_from(SupplierDocument)
            .where(SupplierDocument.supplier_id == buyer.other_supplier_id)
        )
        categories = await session.scalar(select(func.count()).select_from(SupplierCategory))
    assert own
    assert foreign == 0
    assert categories  # the tree is every party's to read
    # a supplier may add a document of its own, but neither approve it nor touch its standing
    async with db.transaction(supplier_context) as session:
        await add_document(session, buyer.supplier_id, _upload("iso_9001", DAY0 + timedelta(days=900)))
    for statement in (
        update(SupplierDocument).values(status="approved"),
        update(SupplierQualification).values(status="qualified"),
    ):
        async with db.transaction(supplier_context) as session:
            changed = await session.execute(statement)
            assert changed.rowcount == 0  # type: ignore[attr-defined]

    async def add_own_category() -> None:
        async with db.transaction(supplier_context) as session:
            session.add(SupplierCategory(tenant_id=buyer.tenant_id, code="SELF", name="Self-made category"))

    with pytest.raises(DBAPIError, match="row-level security"):
        await add_own_category()
