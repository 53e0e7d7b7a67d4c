"""A supplier's own company profile, kept current by its people: the fields that change directly
(audited), and where its documents stand. Its people and their roles are backend/suppliers/colleagues.py.

Sensitive fields (legal name, tax id, bank account) never change here: backend/suppliers/changes.py
turns them into change requests for finance. The route guard has checked who asks (the
permissions in backend/authz/roles.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.kit.forms import FieldErrors, InvalidForm
from backend.models import (
    DocumentRequirement,
    Supplier,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
)
from backend.suppliers.qualification import expiry


class ProfileForm(msgspec.Struct):
    """The fields a supplier changes without anyone's approval."""

    trading_name: str = ""
    website: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    email: str = ""
    phone: str = ""

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        errors.max_length("trading_name", self.trading_name, 200)
        errors.max_length("website", self.website, 300)
        if errors.require("street", self.street):
            errors.max_length("street", self.street, 200)
        if errors.require("city", self.city):
            errors.max_length("city", self.city, 100)
        errors.max_length("postal_code", self.postal_code, 20)
        errors.max_length("phone", self.phone, 40)
        if self.email:
            errors.email("email", self.email)
        return errors


_PROFILE_FIELDS = ("trading_name", "website", "street", "city", "postal_code", "email", "phone")


async def update_profile(session: AsyncSession, supplier: Supplier, form: ProfileForm) -> None:
    if errors := form.errors():
        raise InvalidForm(errors)
    before = {field: getattr(supplier, field) for field in _PROFILE_FIELDS}
    for field in _PROFILE_FIELDS:
        value = getattr(form, field).strip()
        setattr(supplier, field, (value.lower() if field == "email" else value) or None)
    after = {field: getattr(supplier, field) for field in _PROFILE_FIELDS}
    if after != before:
        await session.flush()
        await record(session, "supplier.profile_changed", "supplier", supplier.id, before=before, after=after)


class DocumentState(enum.StrEnum):
    MISSING = "missing"
    IN_REVIEW = "in_review"
    VALID = "valid"
    EXPIRING = "expiring"  # valid, but for EXPIRING_DAYS or fewer (qualification.expiry)
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class DocumentStanding:
    document_type: str
    name: str
    state: DocumentState
    current: SupplierDocument | None  # the approved version, if any
    waiting: SupplierDocument | None  # a newer version waiting for review


async def document_standings(session: AsyncSession, supplier_id: UUID, *, today: date) -> list[DocumentStanding]:
    """Each document the supplier's categories require: missing, in review, valid, expiring or expired."""
    required = (
        await session.execute(
            select(DocumentRequirement.document_type, DocumentRequirement.name, DocumentRequirement.expires)
            .join(SupplierQualification, SupplierQualification.category_id == DocumentRequirement.category_id)
            .where(SupplierQualification.supplier_id == supplier_id)
            .distinct()
            .order_by(DocumentRequirement.name)
        )
    ).all()
    versions = list(
        await session.scalars(
            select(SupplierDocument)
            .where(SupplierDocument.supplier_id == supplier_id)
            .order_by(SupplierDocument.version.desc())
        )
    )
    standings = []
    for document_type, name, expires in required:
        mine = [v for v in versions if v.document_type == document_type]
        current = next((v for v in mine if v.status == SupplierDocumentStatus.APPROVED), None)
        waiting = next((v for v in mine if v.status == SupplierDocumentStatus.PENDING_REVIEW), None)
        if current is None:
            state = DocumentState.IN_REVIEW if waiting else DocumentState.MISSING
        elif expires and (when := expiry(current.expires_on, today)):
            state = DocumentState(when)
        else:
            state = DocumentState.VALID
        standings.append(DocumentStanding(document_type, name, state, current, waiting))
    return standings
