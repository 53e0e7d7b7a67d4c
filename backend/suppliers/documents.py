"""A supplier document arriving as an upload: through the gate (backend/uploads), into storage
under a random name outside the web root, and recorded as a new version waiting for review."""

from __future__ import annotations

import asyncio
from datetime import date
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents.storage import Storage
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.models import DocumentRequirement, SupplierDocument, SupplierQualification, Tenant
from backend.suppliers.qualification import NewDocument, add_document
from backend.uploads.filenames import storage_name
from backend.uploads.gate import inspect_upload
from backend.uploads.kinds import OFFICE_KINDS, AllowedKind, UploadPolicy, UploadRejected
from tenants.isolation import context_of


def office_kinds(formats: list[str]) -> frozenset[AllowedKind]:
    """The office formats a tenant chose (Tenant.supplier_office_formats), by extension; none of
    ours may carry macros either way."""
    return frozenset(kind for kind in OFFICE_KINDS if kind.extension in formats)


async def _office_formats(session: AsyncSession) -> list[str]:
    tenant = await session.get(Tenant, context_of(session).tenant_id)
    assert tenant is not None
    return tenant.supplier_office_formats


async def accepted_types(session: AsyncSession) -> str:
    """What an upload form names as accepted in the session's tenant: "PDF, PNG, JPEG, DOCX"."""
    office = sorted(office_kinds(await _office_formats(session)), key=lambda kind: kind.name)
    return ", ".join(kind.name for kind in (AllowedKind.PDF, AllowedKind.PNG, AllowedKind.JPEG, *office))


async def policy(session: AsyncSession, max_bytes: int) -> UploadPolicy:
    """PDF, PNG and JPEG always, and the office formats the session's tenant accepts."""
    return UploadPolicy(max_bytes=max_bytes, office=office_kinds(await _office_formats(session)))


async def upload_document(
    session: AsyncSession,
    storage: Storage,
    supplier_id: UUID,
    *,
    document_type: str,
    data: bytes,
    filename: str,
    issued_on: date | None,
    expires_on: date | None,
    max_bytes: int,
    today: date,
) -> SupplierDocument:
    """Raises InvalidForm (fields "file", "document_type", "issued_on", "expires_on") and writes
    nothing when the upload or its dates are refused."""
    errors = FieldErrors()
    # only what the supplier's own categories ask for: nothing else is reviewed or kept current
    requirement = await session.scalar(
        select(DocumentRequirement)
        .join(SupplierQualification, SupplierQualification.category_id == DocumentRequirement.category_id)
        .where(DocumentRequirement.document_type == document_type, SupplierQualification.supplier_id == supplier_id)
        .limit(1)
    )
    if requirement is None:
        errors["document_type"] = _("Choose which document this is.")
    elif requirement.expires:
        if issued_on is None:
            errors["issued_on"] = _("Enter the date of issue.")
        elif issued_on > today:
            errors["issued_on"] = _("The date of issue cannot be in the future.")
        if expires_on is None:
            errors["expires_on"] = _("Enter the expiry date.")
        elif expires_on < today:
            errors["expires_on"] = _("This document has expired already.")
    try:
        # CPU work on untrusted bytes: off the event loop
        accepted = await asyncio.to_thread(inspect_upload, data, filename, await policy(session, max_bytes))
    except UploadRejected as refusal:
        errors["file"] = str(refusal.message)
    if errors:
        raise InvalidForm(errors)
    key = f"{context_of(session).tenant_id}/{storage_name(accepted.kind)}"
    await storage.put(key, data)
    return await add_document(
        session,
        supplier_id,
        NewDocument(
            document_type=document_type,
            filename=accepted.safe_filename,
            storage_key=key,
            mime_type=accepted.mime_type,
            size=accepted.size,
            sha256=accepted.sha256,
            issued_on=issued_on,
            expires_on=expires_on,
        ),
    )
