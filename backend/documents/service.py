"""Asking for documents, and who may see them.

A request adds a pending Document and its render job (documents.render, in tasks.py) in the
caller's transaction, so neither exists without the other.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.authz.principal import Principal
from backend.authz.roles import Permission, may
from backend.documents.repository import DocumentRepository
from backend.documents.tasks import RENDER_JOB, render_job_key
from backend.jobs.outbox import enqueue
from backend.kit.i18n import LOCALES
from backend.models import Document, DocumentStatus
from backend.models.document import DocumentKind
from tenants.isolation import context_of

# A second click within this window gets the first request's document instead of another
# render. Older pending documents are not reused: one whose job failed for good (its storage
# was down through every retry) stays pending until an admin retries the job, and must not
# block anyone from asking anew.
SAME_REQUEST_WINDOW = timedelta(minutes=10)

# What a staff member needs to see a document of each kind (party users see their own party's).
VIEW_PERMISSION: dict[str, Permission] = {DocumentKind.SUPPLIER_SUMMARY: Permission.VIEW_SUPPLIERS}


def staff_may_view(principal: Principal, document: Document) -> bool:
    """Deny by default: a kind without an entry above is for no staff member's eyes."""
    permission = VIEW_PERMISSION.get(document.kind)
    return permission is not None and may(principal, permission)


# The labels are the enums'; these names stay for portals/shared/documents.py until it asks them.
kind_label = DocumentKind.label_of
status_label = DocumentStatus.label_of


def _filename(stem: str) -> str:
    # only characters that are safe in a Content-Disposition header on every browser
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-")[:150] + ".pdf"


async def request_document(
    session: AsyncSession,
    kind: DocumentKind,
    *,
    object_type: str,
    object_id: UUID,
    locale: str,
    filename_stem: str,
    supplier_id: UUID | None = None,
) -> Document:
    """A pending document of `kind` about one object in `locale`, with its render job. Asking
    again while a recent one is still pending returns that one. `supplier_id` is the party
    wall: that supplier's own people may fetch it."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}")
    documents = DocumentRepository(session)
    since = datetime.now(UTC) - SAME_REQUEST_WINDOW
    waiting = await documents.pending(kind, object_type, object_id, locale, since=since)
    if waiting is not None:
        return waiting
    document = await documents.add(
        Document(
            tenant_id=context_of(session).tenant_id,
            kind=kind,
            object_type=object_type,
            object_id=object_id,
            supplier_id=supplier_id,
            locale=locale,
            status=DocumentStatus.PENDING,
            filename=_filename(filename_stem),
            content_type="application/pdf",
        )
    )
    await enqueue(session, RENDER_JOB, document_id=document.id, key=render_job_key(document.id))
    return document
