"""Jobs of the parties domain, and what the supplier account summary document shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import list_people
from backend.authz.roles import Permission, permissions_of
from backend.documents.tasks import Source, SubjectGone, document_source
from backend.jobs.registry import job
from backend.kit.i18n import gettext as _
from backend.kit.pagination import MAX_PAGE_SIZE, PageRequest
from backend.models import Document, Membership, MembershipKind, Supplier
from backend.models.document import DocumentKind
from backend.models.party import PartyStatus
from backend.notifications.service import notify
from backend.parties.repository import SupplierRepository

ANNOUNCE_SUPPLIER = "parties.announce_supplier"


@job(ANNOUNCE_SUPPLIER)
async def announce_supplier(session: AsyncSession, supplier_id: str) -> None:
    """Tell everyone who manages suppliers that a new one was added (under their bell)."""
    supplier = await session.scalar(select(Supplier).where(Supplier.id == UUID(supplier_id)))
    if supplier is None:
        return  # gone since: nothing to announce
    staff = await session.scalars(
        select(Membership).where(Membership.kind == MembershipKind.STAFF, Membership.active.is_(True))
    )
    name, number = supplier.name, supplier.number
    for member in staff:
        if Permission.MANAGE_SUPPLIERS in permissions_of(member.kind, member.roles):
            await notify(
                session,
                member.id,
                lambda: _("New supplier %(name)s (%(number)s)") % {"name": name, "number": number},
                link=f"/suppliers/{supplier.id}",
            )


# --- the supplier account summary (a document: rendered by the documents.render job) -------------


@dataclass(frozen=True, slots=True)
class SupplierFacts:
    number: str
    name: str
    country: str
    currency: str
    status: str
    email: str | None
    phone: str | None
    tax_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, supplier: Supplier) -> SupplierFacts:
        return cls(
            number=supplier.number,
            name=supplier.name,
            country=supplier.country,
            currency=supplier.currency,
            status=supplier.status,
            email=supplier.email,
            phone=supplier.phone,
            tax_id=supplier.tax_id,
            created_at=supplier.created_at,
        )


@dataclass(frozen=True, slots=True)
class Contact:
    full_name: str
    email: str


SUPPLIER_SUMMARY_TEMPLATE = "documents/supplier_summary.html"


def supplier_summary_context(supplier: SupplierFacts, people: list[Contact]) -> dict[str, Any]:
    # the label function, not a label: the template calls it in the document's own language
    return {"supplier": supplier, "people": people, "status_label": PartyStatus.label_of}


@document_source(DocumentKind.SUPPLIER_SUMMARY)
async def supplier_summary(session: AsyncSession, document: Document) -> Source:
    supplier = await SupplierRepository(session).get(document.object_id)
    if supplier is None:
        raise SubjectGone("the supplier no longer exists")
    people = await list_people(
        session, PageRequest(size=MAX_PAGE_SIZE), kind=MembershipKind.SUPPLIER, party_id=supplier.id
    )
    contacts = [Contact(person.full_name, person.email) for person in people.items]
    return SUPPLIER_SUMMARY_TEMPLATE, supplier_summary_context(SupplierFacts.of(supplier), contacts)
