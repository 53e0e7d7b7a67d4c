"""Creating suppliers and customers (staff), with validation, document numbers and an audit event;
a new supplier is announced to the people who manage suppliers."""

from __future__ import annotations

from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.documents.service import request_document
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm, field_errors
from backend.kit.ids import new_id
from backend.models import Customer, Document, Supplier
from backend.models.document import DocumentKind
from backend.parties.repository import CustomerRepository, SupplierRepository
from backend.parties.schemas import NewParty
from backend.parties.tasks import ANNOUNCE_SUPPLIER
from tenants.billing.entitlements import ensure_room
from tenants.billing.plans import Limit
from tenants.isolation import context_of
from tenants.numbering import next_number


class PartyForm(msgspec.Struct):
    name: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""
    currency: str = ""
    tax_id: str = ""

    def errors(self) -> FieldErrors:
        # the rules the API publishes for a new party, so a page and the API refuse the same input
        return field_errors(NewParty, msgspec.structs.asdict(self))


# what a new party's audit event shows
_CUSTOMER_FIELDS = ("number", "name", "country", "email", "phone", "currency", "status")
_SUPPLIER_FIELDS = (*_CUSTOMER_FIELDS, "tax_id")


async def create_supplier(session: AsyncSession, form: PartyForm) -> Supplier:
    if errors := form.errors():
        raise InvalidForm(errors)
    await ensure_room(session, Limit.ACTIVE_SUPPLIERS)  # a new supplier starts active
    supplier = Supplier(
        id=new_id(),
        tenant_id=context_of(session).tenant_id,
        name=form.name,
        country=form.country.upper(),
        email=form.email.lower() or None,
        phone=form.phone or None,
        tax_id=form.tax_id or None,
        currency=form.currency.upper(),
    )
    await enqueue(session, ANNOUNCE_SUPPLIER, key=f"announce-supplier:{supplier.id}", supplier_id=supplier.id)
    # The number comes last: its counter row stays locked until commit, serialising every
    # creation in the tenant, so as little as possible runs after it.
    supplier.number = await next_number(session, "supplier", "SUP")
    await SupplierRepository(session).add(supplier)
    await record(session, "supplier.created", "supplier", supplier.id, after=snapshot(supplier, *_SUPPLIER_FIELDS))
    return supplier


async def create_customer(session: AsyncSession, form: PartyForm) -> Customer:
    if errors := form.errors():
        raise InvalidForm(errors)
    customer = Customer(
        tenant_id=context_of(session).tenant_id,
        number=await next_number(session, "customer", "CUS"),
        name=form.name,
        country=form.country.upper(),
        email=form.email.lower() or None,
        phone=form.phone or None,
        currency=form.currency.upper(),
    )
    await CustomerRepository(session).add(customer)
    await record(session, "customer.created", "customer", customer.id, after=snapshot(customer, *_CUSTOMER_FIELDS))
    return customer


async def request_supplier_summary(session: AsyncSession, supplier_id: UUID, locale: str) -> Document | None:
    """A pending supplier account summary in `locale` (rendered by parties.tasks' source); None if
    the supplier is not visible here."""
    supplier = await SupplierRepository(session).get(supplier_id)
    if supplier is None:
        return None
    return await request_document(
        session,
        DocumentKind.SUPPLIER_SUMMARY,
        object_type="supplier",
        object_id=supplier.id,
        locale=locale,
        filename_stem=f"supplier-summary-{supplier.number}",
        supplier_id=supplier.id,
    )
