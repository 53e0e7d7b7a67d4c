"""Qualification rules: which documents a category requires, the review of an uploaded document,
and a supplier's standing per category, recomputed whenever a document is approved or expires.

A supplier is qualified in a category when every document the category requires has an approved
version that has not expired; expired when one of them has expired (a flag later issues use to
block awards and POs); pending otherwise (missing, or waiting for review). A document is valid
through its expiry date and expired from the day after.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.jobs.outbox import enqueue
from backend.kit.db import lock_for_transaction
from backend.models import (
    DocumentRequirement,
    QualificationStatus,
    SupplierCategory,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
)
from tenants.context import PartyKind
from tenants.isolation import context_of

# The daily job reminds 30 and 7 days before a document expires; from the first reminder on, the
# pages call the document "expiring".
REMINDER_DAYS = (30, 7)
EXPIRING_DAYS = max(REMINDER_DAYS)

# the job that computes a supplier's standing after its own people chose a category
RECOMPUTE_STANDING = "suppliers.recompute_standing"


def expiry(expires_on: date | None, today: date) -> str:
    """ "expired", "expiring" (within EXPIRING_DAYS) or "" (fine, or no expiry date)."""
    if expires_on is None:
        return ""
    if expires_on < today:
        return "expired"
    return "expiring" if (expires_on - today).days <= EXPIRING_DAYS else ""


async def create_category(
    session: AsyncSession, code: str, name: str, parent: SupplierCategory | None = None
) -> SupplierCategory:
    category = SupplierCategory(
        tenant_id=context_of(session).tenant_id, code=code, name=name, parent_id=parent.id if parent else None
    )
    session.add(category)
    await session.flush()
    await record(session, "category.created", "supplier_category", category.id, after={"code": code, "name": name})
    return category


async def require_document(
    session: AsyncSession, category: SupplierCategory, document_type: str, name: str, *, expires: bool = True
) -> DocumentRequirement:
    requirement = DocumentRequirement(
        tenant_id=category.tenant_id, category_id=category.id, document_type=document_type, name=name, expires=expires
    )
    session.add(requirement)
    await session.flush()
    return requirement


async def supply_category(session: AsyncSession, supplier_id: UUID, category_id: UUID, *, today: date) -> None:
    """The supplier supplies this category: it has a standing there from now on. Its row starts
    pending; staff's context computes the standing at once, a supplier's own context (which may
    not decide it) leaves that to a job in the buyer's context."""
    session.add(
        SupplierQualification(tenant_id=context_of(session).tenant_id, supplier_id=supplier_id, category_id=category_id)
    )
    await session.flush()
    if context_of(session).party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
        await recompute(session, supplier_id, today=today)
    else:
        await enqueue(
            session,
            RECOMPUTE_STANDING,
            key=f"{RECOMPUTE_STANDING}:{supplier_id}:{category_id}",
            supplier_id=supplier_id,
            today=today.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class NewDocument:
    """An upload that passed the gate and is stored: what the record keeps of it."""

    document_type: str
    filename: str
    storage_key: str
    mime_type: str
    size: int
    sha256: str
    issued_on: date | None
    expires_on: date | None


async def add_document(session: AsyncSession, supplier_id: UUID, new: NewDocument) -> SupplierDocument:
    """A new version of one of the supplier's documents, waiting for review, uploaded by the
    context's person."""
    # two uploads of the same document at once would both take the next version number
    await lock_for_transaction(session, f"document:{supplier_id}:{new.document_type}")
    latest = await session.scalar(
        select(func.max(SupplierDocument.version)).where(
            SupplierDocument.supplier_id == supplier_id, SupplierDocument.document_type == new.document_type
        )
    )
    context = context_of(session)
    document = SupplierDocument(
        tenant_id=context.tenant_id,
        supplier_id=supplier_id,
        version=(latest or 0) + 1,
        uploaded_by=context.identity_id,
        status=SupplierDocumentStatus.PENDING_REVIEW,
        **asdict(new),
    )
    session.add(document)
    await session.flush()
    await record(
        session,
        "supplier_document.uploaded",
        "supplier",
        supplier_id,
        after={"document_type": new.document_type, "version": document.version, "expires_on": new.expires_on},
    )
    return document


async def review_document(session: AsyncSession, document: SupplierDocument, *, approve: bool, today: date) -> None:
    """Approve (it replaces the earlier approved version) or reject a version waiting for review,
    as the context's person."""
    if document.status != SupplierDocumentStatus.PENDING_REVIEW:
        raise ValueError(f"document {document.id} is {document.status}, not waiting for review")
    if approve:
        earlier = await session.scalars(
            select(SupplierDocument).where(
                SupplierDocument.supplier_id == document.supplier_id,
                SupplierDocument.document_type == document.document_type,
                SupplierDocument.status == SupplierDocumentStatus.APPROVED,
            )
        )
        for old in earlier:
            old.status = SupplierDocumentStatus.SUPERSEDED
    document.status = SupplierDocumentStatus.APPROVED if approve else SupplierDocumentStatus.REJECTED
    document.reviewed_by, document.reviewed_at = context_of(session).identity_id, datetime.now(UTC)
    await session.flush()
    await record(
        session,
        "supplier_document.approved" if approve else "supplier_document.rejected",
        "supplier",
        document.supplier_id,
        after={"document_type": document.document_type, "version": document.version},
    )
    await recompute(session, document.supplier_id, today=today)


def is_valid(document: SupplierDocument, requirement: DocumentRequirement, today: date) -> bool:
    if not requirement.expires:
        return True
    return document.expires_on is not None and today <= document.expires_on


async def recompute(session: AsyncSession, supplier_id: UUID, *, today: date) -> list[SupplierQualification]:
    """Bring the supplier's standing in each of its categories up to date; returns the ones that
    changed (each change is in the audit trail)."""
    approved = {
        document.document_type: document
        for document in await session.scalars(
            select(SupplierDocument).where(
                SupplierDocument.supplier_id == supplier_id,
                SupplierDocument.status == SupplierDocumentStatus.APPROVED,
            )
        )
    }
    changed = []
    qualifications = await session.scalars(
        select(SupplierQualification).where(SupplierQualification.supplier_id == supplier_id).with_for_update()
    )
    for qualification in qualifications.all():
        requirements = await session.scalars(
            select(DocumentRequirement).where(DocumentRequirement.category_id == qualification.category_id)
        )
        missing = expired = False
        for requirement in requirements:
            document = approved.get(requirement.document_type)
            if document is None:
                missing = True
            elif not is_valid(document, requirement, today):
                expired = True
        status = (
            QualificationStatus.EXPIRED
            if expired
            else QualificationStatus.PENDING
            if missing
            else QualificationStatus.QUALIFIED
        )
        if qualification.status != status:
            before = qualification.status
            qualification.status, qualification.changed_at = status, datetime.now(UTC)
            await record(
                session,
                "qualification.changed",
                "supplier",
                supplier_id,
                before={"category_id": qualification.category_id, "status": before},
                after={"category_id": qualification.category_id, "status": status},
            )
            changed.append(qualification)
    await session.flush()
    return changed
