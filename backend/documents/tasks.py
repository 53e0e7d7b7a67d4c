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

from backend.documents.render import RenderError, render_pdf
from backend.documents.repository import DocumentRepository
from backend.documents.storage import Storage, document_key, storage_from
from backend.jobs.registry import job
from backend.models import Document, DocumentStatus, Tenant
from backend.models.document import DocumentKind
from backend.settings import get_settings

log = logging.getLogger("merkato.documents")

RENDER_JOB = "documents.render"


def render_job_key(document_id: UUID) -> str:
    return f"{RENDER_JOB}:{document_id}"


# --- what each kind of document shows ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letterhead:
    name: str
    timezone: str


class SubjectGone(Exception):
    """What the document is about no longer exists."""


Source = tuple[str, dict[str, Any]]  # template name, context (plain data: the template never touches the ORM)
SourceFunction = Callable[[AsyncSession, Document], Awaitable[Source]]

# The domain that owns a kind of document says what it shows, from its own tasks module (which the
# worker loads with every job), so this platform package never imports a domain.
SOURCES: dict[str, SourceFunction] = {}


def document_source(kind: DocumentKind) -> Callable[[SourceFunction], SourceFunction]:
    def register(function: SourceFunction) -> SourceFunction:
        if kind in SOURCES:
            raise ValueError(f"documents of kind {kind!r} already have a source")
        SOURCES[kind] = function
        return function

    return register


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
