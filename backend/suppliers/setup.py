"""What a tenant asks of its suppliers: the category tree, each category's document checklist, and
the supplier terms a registration accepts. Staff change them (the tables admit no one else);
every change is in the audit trail, and a checklist change moves the standing of the suppliers of
that category at once (a new required document makes a qualified supplier pending)."""

from __future__ import annotations

import re
from datetime import date
from uuid import UUID

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.kit.db import lock_for_transaction
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import DocumentRequirement, SupplierCategory, SupplierQualification, SupplierTerms, Tenant
from backend.suppliers.qualification import create_category, recompute, require_document
from backend.uploads.kinds import OFFICE_KINDS
from tenants.isolation import context_of

CATEGORY_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
DOCUMENT_TYPE = re.compile(r"[a-z0-9][a-z0-9_]{1,39}")
MAX_TERMS = 50_000


class CategoryForm(msgspec.Struct):
    code: str = ""
    name: str = ""
    parent: str = ""  # a category id, or "" for a top-level one


class RequirementForm(msgspec.Struct):
    name: str = ""
    document_type: str = ""
    expires: str = ""  # "yes": the document has issue and expiry dates


async def add_category(session: AsyncSession, form: CategoryForm) -> SupplierCategory:
    errors = FieldErrors()
    if errors.require("code", form.code) and not CATEGORY_CODE.fullmatch(form.code):
        errors["code"] = _("Up to 40 letters, digits, dots, hyphens or underscores.")
    elif "code" not in errors and await session.scalar(
        select(SupplierCategory.id).where(func.lower(SupplierCategory.code) == form.code.lower())
    ):
        errors["code"] = _("Another category has this code.")
    if errors.require("name", form.name):
        errors.max_length("name", form.name, 200)
    parent = None
    if form.parent:
        try:
            parent = await session.scalar(select(SupplierCategory).where(SupplierCategory.id == UUID(form.parent)))
        except ValueError:
            parent = None
        if parent is None:
            errors["parent"] = _("Choose the parent from the list.")
    if errors:
        raise InvalidForm(errors)
    return await create_category(session, form.code, form.name, parent)


async def add_requirement(
    session: AsyncSession, category: SupplierCategory, form: RequirementForm, *, today: date
) -> DocumentRequirement:
    """A document the category's suppliers must hold from now on. The same document type in two
    categories is one document: a supplier of both uploads it once."""
    errors = FieldErrors()
    if errors.require("name", form.name):
        errors.max_length("name", form.name, 200)
    document_type = form.document_type.lower()
    if errors.require("document_type", document_type) and not DOCUMENT_TYPE.fullmatch(document_type):
        errors["document_type"] = _("2 to 40 small letters, digits or underscores, e.g. iso_9001.")
    elif "document_type" not in errors and await session.scalar(
        select(DocumentRequirement.id).where(
            DocumentRequirement.category_id == category.id, DocumentRequirement.document_type == document_type
        )
    ):
        errors["document_type"] = _("This category asks for this document already.")
    expires = form.expires == "yes"
    elsewhere = await session.scalar(
        select(DocumentRequirement.expires).where(DocumentRequirement.document_type == document_type).limit(1)
    )
    if "document_type" not in errors and elsewhere is not None and elsewhere != expires:
        # one document, one rule: else an upload made without dates would count as expired
        # in the category that wants them
        errors["expires"] = (
            _("Other categories ask for this document with issue and expiry dates: tick the box.")
            if elsewhere
            else _("Other categories ask for this document without dates: untick the box.")
        )
    if errors:
        raise InvalidForm(errors)
    requirement = await require_document(session, category, document_type, form.name, expires=expires)
    await record(
        session,
        "requirement.added",
        "supplier_category",
        category.id,
        after={"document_type": document_type, "name": form.name, "expires": requirement.expires},
    )
    await _restand(session, category.id, today)
    return requirement


async def requirement_to_remove(session: AsyncSession, requirement_id: UUID) -> DocumentRequirement | None:
    """The requirement, locked: two removals at once remove it once."""
    requirement: DocumentRequirement | None = await session.scalar(
        select(DocumentRequirement).where(DocumentRequirement.id == requirement_id).with_for_update()
    )
    return requirement


async def remove_requirement(session: AsyncSession, requirement: DocumentRequirement, *, today: date) -> None:
    """The category no longer asks for the document; documents uploaded for it stay."""
    await session.execute(delete(DocumentRequirement).where(DocumentRequirement.id == requirement.id))
    await record(
        session,
        "requirement.removed",
        "supplier_category",
        requirement.category_id,
        before={"document_type": requirement.document_type, "name": requirement.name},
    )
    await _restand(session, requirement.category_id, today)


async def _restand(session: AsyncSession, category_id: UUID, today: date) -> None:
    suppliers = await session.scalars(
        select(SupplierQualification.supplier_id).where(SupplierQualification.category_id == category_id)
    )
    for supplier_id in suppliers.all():
        await recompute(session, supplier_id, today=today)


async def current_terms(session: AsyncSession) -> SupplierTerms | None:
    terms: SupplierTerms | None = await session.scalar(
        select(SupplierTerms).order_by(SupplierTerms.version.desc()).limit(1)
    )
    return terms


async def publish_terms(session: AsyncSession, body: str, *, publisher: UUID | None) -> SupplierTerms:
    """A new version of the terms; registrations from now on accept it. Earlier versions stay."""
    wording = body.strip().replace("\r\n", "\n")
    errors = FieldErrors()
    if errors.require("body", wording):
        errors.max_length("body", wording, MAX_TERMS)
    # two publishers at once would both take the next version number: the second waits here
    tenant_id = context_of(session).tenant_id
    await lock_for_transaction(session, f"terms:{tenant_id}")
    current = await current_terms(session)
    if "body" not in errors and current is not None and current.body == wording:
        errors["body"] = _("This is the text in force already.")
    if errors:
        raise InvalidForm(errors)
    terms = SupplierTerms(
        tenant_id=tenant_id,
        version=(current.version if current else 0) + 1,
        body=wording,
        published_by=publisher,
    )
    session.add(terms)
    await session.flush()
    await record(session, "supplier_terms.published", "supplier_terms", terms.id, after={"version": terms.version})
    return terms


async def office_format_choices(session: AsyncSession) -> list[tuple[str, bool]]:
    """Each office format by extension, and whether the tenant accepts it now."""
    tenant = await session.get(Tenant, context_of(session).tenant_id)
    assert tenant is not None
    return [
        (kind.extension, kind.extension in tenant.supplier_office_formats)
        for kind in sorted(OFFICE_KINDS, key=lambda k: k.name)
    ]


async def set_office_formats(session: AsyncSession, formats: list[str]) -> None:
    """Which office formats (by extension) the tenant's suppliers may upload besides PDF, PNG and
    JPEG; uploads from now on are checked against it, earlier ones stay."""
    known = {kind.extension for kind in OFFICE_KINDS}
    if not set(formats) <= known:
        raise InvalidForm(FieldErrors(office=_("Choose from the formats listed.")))
    tenant = await session.get(Tenant, context_of(session).tenant_id)
    assert tenant is not None
    before, after = sorted(tenant.supplier_office_formats), sorted(set(formats))
    if before == after:
        return
    tenant.supplier_office_formats = after
    await session.flush()
    await record(
        session,
        "uploads.office_formats_changed",
        "tenant",
        tenant.id,
        before={"office_formats": before},
        after={"office_formats": after},
    )
