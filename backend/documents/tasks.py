"""The documents actor: renders a requested document, stores it and marks it ready (PDFs are
made only here, never while a web request waits).

A render that fails or runs out of time marks the document failed at once: rendering the same
data again would fail the same way. Anything else (storage or database trouble) raises, and
the outbox retries the job with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import list_people
from backend.documents.render import RenderError, render_pdf
from backend.documents.repository import DocumentRepository
from backend.documents.storage import Storage, document_key, storage_from
from backend.jobs.registry import job
from backend.kit.pagination import MAX_PAGE_SIZE, PageRequest
from backend.models import Document, DocumentStatus, MembershipKind, Supplier, Tenant
from backend.models.document import DocumentKind
from backend.parties.repository import SupplierRepository
from backend.settings import get_settings

log = logging.getLogger("merkato.documents")

RENDER_JOB = "documents.render"


def render_job_key(document_id: UUID) -> str:
    return f"{RENDER_JOB}:{document_id}"


# --- what each kind of document shows (plain data: the template never touches the ORM) -----------


@dataclass(frozen=True, slots=True)
class Letterhead:
    name: str
    timezone: str


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


class SubjectGone(Exception):
    """What the document is about no longer exists."""


Source = tuple[str, dict[str, Any]]  # template name, context


async def _supplier_summary(session: AsyncSession, document: Document) -> Source:
    supplier = await SupplierRepository(session).get(document.object_id)
    if supplier is None:
        raise SubjectGone("the supplier no longer exists")
    people = await list_people(
        session, PageRequest(size=MAX_PAGE_SIZE), kind=MembershipKind.SUPPLIER, party_id=supplier.id
    )
    return "documents/supplier_summary.html", {
        "supplier": SupplierFacts.of(supplier),
        "people": [Contact(person.full_name, person.email) for person in people.items],
    }


SOURCES: dict[str, Callable[[AsyncSession, Document], Awaitable[Source]]] = {
    DocumentKind.SUPPLIER_SUMMARY: _supplier_summary,
}


# --- the job ----------------------------------------------------------------------------------


def _fail(document: Document, reason: str) -> None:
    log.warning("document %s (%s) failed: %s", document.id, document.kind, reason)
    document.status = DocumentStatus.FAILED
    document.error = reason[:4000]


async def render_document(session: AsyncSession, document_id: UUID, *, storage: Storage, time_limit: float) -> None:
    """Render a pending document, store it and mark it ready (or failed); a no-op otherwise,
    so a repeated delivery of the job changes nothing."""
    document = await DocumentRepository(session).get(document_id, for_update=True)
    if document is None or document.status != DocumentStatus.PENDING:
        return
    source = SOURCES.get(document.kind)
    tenant = await session.get(Tenant, document.tenant_id)
    if source is None or tenant is None:
        _fail(document, f"no way to render a {document.kind!r} document")
        return
    try:
        template, context = await source(session, document)
        context |= {"tenant": Letterhead(tenant.name, tenant.timezone), "generated_at": datetime.now(UTC)}
        # the render blocks for up to `time_limit` seconds: off the event loop, so other jobs go on
        pdf = await asyncio.to_thread(render_pdf, template, context, document.locale, timeout=time_limit)
    except (SubjectGone, RenderError) as exc:
        _fail(document, str(exc))
        return
    key = document_key(document.tenant_id, document.id)
    await storage.put(key, pdf)
    document.storage_key = key
    document.size = len(pdf)
    document.status = DocumentStatus.READY
    document.error = None


@job(RENDER_JOB)
async def render(session: AsyncSession, document_id: str) -> None:
    # read at run time, not import time: the worker's settings, which tests may point elsewhere
    settings = get_settings()
    await render_document(
        session, UUID(document_id), storage=storage_from(settings), time_limit=settings.pdf_timeout_seconds
    )
