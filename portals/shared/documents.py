"""Documents in every portal: asking for a PDF, watching it being made, downloading it.

GET /documents/{id} answers only for a document the caller may see. The query runs in the
request's tenant and party context (and RLS checks the same underneath), so another tenant's or
another party's document is a 404, like a missing one; staff also need the permission for the
document's kind (403). The bytes come from the storage outside the web root, never from a static
route.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.authz.guards import any_member, staff, supplier_user
from backend.authz.principal import Principal
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db
from backend.documents.repository import DocumentRepository
from backend.documents.service import kind_label, staff_may_view, status_label
from backend.documents.storage import StorageKeyError, storage_from
from backend.kit.i18n import LOCALE_NAMES, LOCALES, current_locale
from backend.models import Document, DocumentStatus, MembershipKind
from backend.parties.repository import CustomerRepository, SupplierRepository
from backend.parties.service import request_supplier_summary
from portals.shared.navigation import home_of
from portals.shared.security_headers import CSP, SANDBOXED_FILE_POLICY

log = logging.getLogger("merkato.web")

Req = Request[Any, Any, Any]

# Private documents: no cache may keep them, and the polling fragment differs from the page.
NO_STORE = {"cache-control": "private, no-store", "vary": "HX-Request"}


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: UUID
    title: str
    language: str
    created_at: datetime
    status: str
    status_label: str

    @property
    def pending(self) -> bool:
        return self.status == DocumentStatus.PENDING

    @property
    def ready(self) -> bool:
        return self.status == DocumentStatus.READY

    @classmethod
    def of(cls, document: Document) -> DocumentRow:
        return cls(
            id=document.id,
            title=kind_label(document.kind),
            language=LOCALE_NAMES.get(document.locale, document.locale),
            created_at=document.created_at,
            status=document.status,
            status_label=status_label(document.status),
        )


@dataclass(frozen=True, slots=True)
class DocumentsPanel:
    """The documents list of one supplier or customer, with the form that asks for a new one."""

    rows: list[DocumentRow]
    request_url: str


async def documents_panel(session: Db, *, kind: MembershipKind, party_id: UUID, request_url: str) -> DocumentsPanel:
    documents = await DocumentRepository(session).of_party(kind, party_id)
    return DocumentsPanel(rows=[DocumentRow.of(d) for d in documents], request_url=request_url)


def _locale(form: Any) -> str:
    locale = form.get("locale") or current_locale()
    if locale not in LOCALES:
        raise ClientException(detail="unknown language")
    return str(locale)


async def _subject_and_back(session: Db, principal: Principal, document: Document) -> tuple[str, str]:
    """Who the document is about, and the page to go back to."""
    if document.supplier_id is not None:
        party: Any = await SupplierRepository(session).get(document.supplier_id)
        staff_page = f"/suppliers/{document.supplier_id}"
    elif document.customer_id is not None:
        party = await CustomerRepository(session).get(document.customer_id)
        staff_page = f"/customers/{document.customer_id}"
    else:
        party, staff_page = None, "/"
    return (party.name if party else ""), (staff_page if principal.is_staff else home_of(principal))


# What a browser may show in a tab rather than save: pictures, which run nothing (the upload gate
# re-checked their bytes). PDFs are always saved: Chromium's viewer runs a PDF's own JavaScript
# even under `Content-Security-Policy: sandbox` (tried with an app.alert in an OpenAction: the
# dialog opens), so no header makes a supplier's PDF safe to open inside a reviewer's session.
SHOWN_INLINE = frozenset({"image/png", "image/jpeg"})
# Whatever is shown in a tab is a document of its own, in an opaque origin: no script, no form, no
# plugin, no access to the session's cookies.
SANDBOX = {CSP: SANDBOXED_FILE_POLICY}


def _disposition(filename: str, *, inline: bool = False) -> str:
    """An ASCII name for old clients and the real one as RFC 5987 `filename*`; neither can break
    out of the header or name a path."""
    cleaned = "".join(ch for ch in filename if ch.isprintable() and ch not in '/\\"').strip() or "document"
    plain = cleaned.encode("ascii", "replace").decode().replace("?", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


async def stored_file(
    request: Req, storage_key: str, *, filename: str, media_type: str, inline: bool = False
) -> Response[bytes]:
    """A stored file as a download that no cache keeps (`inline`: shown in the tab, sandboxed, for
    the SHOWN_INLINE types only; every answer is `nosniff`, so none is taken for another type); a
    404 (and an error in the log) when the storage has lost it."""
    try:
        content = await storage_from(request.app.state.settings).get(storage_key)
    except (FileNotFoundError, StorageKeyError):
        log.error("the file %s of %s cannot be read", storage_key, request.url.path)
        raise NotFoundException() from None
    shown = inline and media_type in SHOWN_INLINE
    return Response(
        content=content,
        media_type=media_type,
        headers={**NO_STORE, "content-disposition": _disposition(filename, inline=shown), **(SANDBOX if shown else {})},
    )


@get("/documents/{document_id:uuid}", guards=[any_member], name="document")
async def document(request: Req, db: Db, user: CurrentUser, document_id: FromPath[UUID]) -> Response[Any]:
    """The PDF once it is ready; until then a page that says so (and polls, with htmx). htmx's
    polls always get the status fragment, so a finished PDF is never swapped into the page."""
    found = await DocumentRepository(db).get(document_id)
    if found is None:
        raise NotFoundException()
    if user.is_staff and not staff_may_view(user, found):
        raise PermissionDeniedException()
    row = DocumentRow.of(found)
    if request.headers.get("hx-request") == "true":
        return Template(template_name="documents/_status.html", context={"row": row}, headers=NO_STORE)
    if found.status == DocumentStatus.READY and found.storage_key:
        return await stored_file(request, found.storage_key, filename=found.filename, media_type=found.content_type)
    subject, back = await _subject_and_back(db, user, found)
    return Template(
        template_name="documents/status.html",
        context={"row": row, "subject": subject, "back": back},
        headers=NO_STORE,
    )


@post("/suppliers/{party_id:uuid}/documents", guards=[staff(Permission.VIEW_SUPPLIERS)], name="supplier_summary")
async def staff_supplier_summary(request: Req, db: Db, party_id: FromPath[UUID]) -> Redirect:
    """Staff ask for a supplier's account summary (any staff member who may see suppliers)."""
    requested = await request_supplier_summary(db, party_id, _locale(await request.form()))
    if requested is None:
        raise NotFoundException()
    return Redirect(path=f"/documents/{requested.id}", status_code=303)


@post("/supplier/documents", guards=[supplier_user], name="own_supplier_summary")
async def own_supplier_summary(request: Req, db: Db, user: CurrentUser) -> Redirect:
    """A supplier's user asks for their own company's account summary, in their own context;
    which supplier it is about comes from their session (their own party), never from the form."""
    locale = _locale(await request.form())
    if user.party_id is None:
        raise NotFoundException()
    requested = await request_supplier_summary(db, user.party_id, locale)
    if requested is None:
        raise NotFoundException()
    return Redirect(path=f"/documents/{requested.id}", status_code=303)


DOCUMENT_ROUTES = [document, staff_supplier_summary, own_supplier_summary]
