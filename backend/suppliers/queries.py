"""Every read of supplier onboarding: the review queue with each row's completeness, what the
supplier 360 page shows, and the supplier's own draft and company pages. (The one supplier
search, which the staff list, its CSV export and the JSON API share, is the supplier master's,
in backend/parties/queries.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import (
    BankAccountStatus,
    ChangeKind,
    DocumentRequirement,
    Identity,
    Membership,
    Supplier,
    SupplierBankAccount,
    SupplierCategory,
    SupplierChangeRequest,
    SupplierContact,
    SupplierDocument,
    SupplierQualification,
    SupplierRegistration,
)
from backend.suppliers.changes import ChangeAuthors
from backend.suppliers.registration import Gaps

# --- the review queue -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    registration: SupplierRegistration
    supplier: Supplier
    missing: int  # how many gaps the registration has (Gaps)


async def review_queue(session: AsyncSession, request: PageRequest, *, status: str, text: str) -> Page[QueueRow]:
    """Oldest submission first: the queue is worked from its front. An empty `status` shows all.
    Each row's completeness comes with it, in the one query that lists the page."""
    matching = select(SupplierRegistration.id).join(Supplier, Supplier.id == SupplierRegistration.supplier_id)
    if status:
        matching = matching.where(SupplierRegistration.status == status)
    if text:
        matching = matching.where(Supplier.name.icontains(text, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(matching.subquery()))
    rows = await session.execute(
        select(SupplierRegistration, Supplier, *Gaps.columns())
        .join(Supplier, Supplier.id == SupplierRegistration.supplier_id)
        .where(SupplierRegistration.id.in_(matching))
        .order_by(
            SupplierRegistration.submitted_at.asc().nulls_last(),
            SupplierRegistration.created_at,
            SupplierRegistration.id,
        )
        .limit(request.size)
        .offset(request.offset)
    )
    items = [QueueRow(registration, supplier, len(Gaps.of(gaps))) for registration, supplier, *gaps in rows]
    return Page(items=items, total=total or 0, request=request)


# --- the supplier 360 page --------------------------------------------------------------------


async def registration_of(session: AsyncSession, supplier_id: UUID) -> SupplierRegistration | None:
    registration: SupplierRegistration | None = await session.scalar(
        select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier_id)
    )
    return registration


async def contacts(session: AsyncSession, supplier_id: UUID) -> list[SupplierContact]:
    return list(
        await session.scalars(
            select(SupplierContact).where(SupplierContact.supplier_id == supplier_id).order_by(SupplierContact.name)
        )
    )


async def qualifications(
    session: AsyncSession, supplier_id: UUID
) -> list[tuple[SupplierCategory, SupplierQualification]]:
    """The supplier's standing in each category it supplies, by category name."""
    rows = await session.execute(
        select(SupplierCategory, SupplierQualification)
        .join(SupplierQualification, SupplierQualification.category_id == SupplierCategory.id)
        .where(SupplierQualification.supplier_id == supplier_id)
        .order_by(SupplierCategory.name)
    )
    return list(rows.tuples())


@dataclass(frozen=True, slots=True)
class DocumentRow:
    document: SupplierDocument
    title: str  # the requirement's name for its type, or the type itself if none asks for it now


async def documents(session: AsyncSession, supplier_id: UUID) -> list[DocumentRow]:
    """Every version of every document, by type, the newest version first."""
    titles = dict(
        (await session.execute(select(DocumentRequirement.document_type, DocumentRequirement.name))).tuples().all()
    )
    found = await session.scalars(
        select(SupplierDocument)
        .where(SupplierDocument.supplier_id == supplier_id)
        .order_by(SupplierDocument.document_type, SupplierDocument.version.desc())
    )
    return [DocumentRow(document, titles.get(document.document_type, document.document_type)) for document in found]


async def supplier_document(
    session: AsyncSession, supplier_id: UUID, document_id: UUID, *, lock: bool = False
) -> SupplierDocument | None:
    """One of this supplier's documents (another supplier's is None, like a missing one); `lock`
    keeps a second reviewer from deciding the same version at the same time."""
    query = select(SupplierDocument).where(
        SupplierDocument.id == document_id, SupplierDocument.supplier_id == supplier_id
    )
    document: SupplierDocument | None = await session.scalar(query.with_for_update() if lock else query)
    return document


@dataclass(frozen=True, slots=True)
class ChangeRow:
    change: SupplierChangeRequest
    account: SupplierBankAccount | None  # the proposed account of a bank account change
    requested_by: str  # "Name <e-mail>", or "" for nobody known
    decided_by: str
    authors: ChangeAuthors  # who may not decide it (four eyes)


async def changes(session: AsyncSession, supplier_id: UUID) -> list[ChangeRow]:
    """The supplier's change requests, newest first, with the people who asked and decided, and
    whom each comes from (four eyes)."""
    found = list(
        await session.scalars(
            select(SupplierChangeRequest)
            .where(SupplierChangeRequest.supplier_id == supplier_id)
            .order_by(SupplierChangeRequest.created_at.desc(), SupplierChangeRequest.id)
        )
    )
    accounts = {
        account.id: account
        for account in await session.scalars(
            select(SupplierBankAccount).where(SupplierBankAccount.supplier_id == supplier_id)
        )
    }
    people = {change.requested_by for change in found} | {change.decided_by for change in found}
    names = {
        identity.id: f"{identity.full_name} <{identity.email}>"
        for identity in await session.scalars(select(Identity).where(Identity.id.in_([i for i in people if i])))
    }
    requesters = [change.requested_by for change in found if change.requested_by]
    access_givers = dict(
        (
            await session.execute(
                select(Membership.identity_id, Membership.created_by).where(Membership.identity_id.in_(requesters))
            )
        )
        .tuples()
        .all()
    )
    rows = []
    for change in found:
        account = (
            accounts.get(UUID(change.proposed["bank_account_id"])) if change.kind == ChangeKind.BANK_ACCOUNT else None
        )
        authors = ChangeAuthors(
            change.requested_by,
            account.entered_by if account else None,
            access_givers.get(change.requested_by) if change.requested_by else None,
        )
        rows.append(
            ChangeRow(
                change=change,
                account=account,
                requested_by=names.get(change.requested_by, "") if change.requested_by else "",
                decided_by=names.get(change.decided_by, "") if change.decided_by else "",
                authors=authors,
            )
        )
    return rows


async def change_of(session: AsyncSession, supplier_id: UUID, change_id: UUID) -> UUID | None:
    """The id of this supplier's change request, None for another supplier's or a missing one."""
    found: UUID | None = await session.scalar(
        select(SupplierChangeRequest.id).where(
            SupplierChangeRequest.id == change_id, SupplierChangeRequest.supplier_id == supplier_id
        )
    )
    return found


async def categories(session: AsyncSession) -> list[SupplierCategory]:
    """The tenant's supplier categories, by code."""
    return list(await session.scalars(select(SupplierCategory).order_by(SupplierCategory.code)))


async def category(session: AsyncSession, category_id: UUID) -> SupplierCategory | None:
    found: SupplierCategory | None = await session.scalar(
        select(SupplierCategory).where(SupplierCategory.id == category_id)
    )
    return found


async def requirements_by_category(session: AsyncSession) -> dict[UUID, list[DocumentRequirement]]:
    """The document checklist of each category, each by document name."""
    checklists: dict[UUID, list[DocumentRequirement]] = {}
    for requirement in await session.scalars(select(DocumentRequirement).order_by(DocumentRequirement.name)):
        checklists.setdefault(requirement.category_id, []).append(requirement)
    return checklists


# --- the supplier's own pages (its registration draft, its company) ------------------------------


async def registration_of_registrant(session: AsyncSession, identity_id: UUID) -> SupplierRegistration | None:
    """The registration this person registers (the sign-in step of the public registration)."""
    found: SupplierRegistration | None = await session.scalar(
        select(SupplierRegistration).where(SupplierRegistration.registrant_id == identity_id)
    )
    return found


@dataclass(frozen=True, slots=True)
class RequiredDocument:
    document_type: str
    name: str
    expires: bool


@dataclass(frozen=True, slots=True)
class Draft:
    """What the registrant's draft page shows, read in the registrant's own context."""

    supplier: Supplier
    contacts: list[SupplierContact]
    categories: list[SupplierCategory]
    chosen: set[UUID]  # the categories the supplier supplies
    required: list[RequiredDocument]  # what those categories ask for
    documents: list[SupplierDocument]  # every version, by type, oldest first
    bank_entered: SupplierBankAccount | None  # the account entered last, unless it was rejected


async def draft(session: AsyncSession, registration: SupplierRegistration) -> Draft:
    supplier = await session.get(Supplier, (registration.tenant_id, registration.supplier_id))
    assert supplier is not None  # the registration's foreign key says so
    chosen = set(
        await session.scalars(
            select(SupplierQualification.category_id).where(SupplierQualification.supplier_id == supplier.id)
        )
    )
    required = await session.execute(
        select(DocumentRequirement.document_type, DocumentRequirement.name, DocumentRequirement.expires)
        .where(DocumentRequirement.category_id.in_(chosen))
        .distinct()
        .order_by(DocumentRequirement.name)
    )
    versions = await session.scalars(
        select(SupplierDocument)
        .where(SupplierDocument.supplier_id == supplier.id)
        .order_by(SupplierDocument.document_type, SupplierDocument.version)
    )
    bank_entered = await session.scalar(
        select(SupplierBankAccount)
        .where(SupplierBankAccount.supplier_id == supplier.id, SupplierBankAccount.status != BankAccountStatus.REJECTED)
        .order_by(SupplierBankAccount.created_at.desc())
        .limit(1)
    )
    return Draft(
        supplier=supplier,
        contacts=await contacts(session, supplier.id),
        categories=await categories(session),
        chosen=chosen,
        required=[RequiredDocument(*row) for row in required.tuples()],
        documents=list(versions),
        bank_entered=bank_entered,
    )


async def recent_changes(session: AsyncSession, supplier_id: UUID, *, limit: int = 20) -> list[SupplierChangeRequest]:
    """The supplier's latest change requests, newest first, as its own people see them."""
    return list(
        await session.scalars(
            select(SupplierChangeRequest)
            .where(SupplierChangeRequest.supplier_id == supplier_id)
            .order_by(SupplierChangeRequest.created_at.desc())
            .limit(limit)
        )
    )
