"""The review queue of registrations, and the reviews staff make on the 360 page: of a
registration, of an uploaded document (and the download of that document to look at it)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.errors import Conflict, DomainError
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.pagination import PageRequest
from backend.models import RegistrationStatus, SupplierDocument, SupplierDocumentStatus
from backend.suppliers.qualification import review_document
from backend.suppliers.queries import registration_of, review_queue, supplier_document
from backend.suppliers.registration import registration_to_decide, review
from portals.shared.clock import workspace_today
from portals.shared.documents import stored_file
from portals.staff.suppliers.pages import Req, on_detail, supplier_or_404

REVIEW_ACTIONS = ("approve", "reject", "request_info")


@get("/registrations", guards=[staff(Permission.VIEW_SUPPLIERS)], name="supplier_registrations")
async def registrations(
    db: Db,
    q: FromQuery[str] = "",
    status: FromQuery[str] = RegistrationStatus.SUBMITTED.value,
    page: FromQuery[int] = 1,
) -> Template:
    """Oldest submission first. `status=` (empty) shows all."""
    found = await review_queue(db, PageRequest.clamp(page, 25), status=status, text=q.strip())
    encoded = urlencode({"q": q, "status": status})
    return Template(
        template_name="staff/supplier_registrations.html",
        context={
            "page": found,
            "q": q,
            "status": status,
            "statuses": [(value.value, value.label) for value in RegistrationStatus],
            "status_label": RegistrationStatus.label_of,
            "paging_query": f"&{encoded}",
        },
    )


@post("/{party_id:uuid}/registration", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_registration_review")
async def review_registration(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]
) -> Response[Any]:
    supplier = await supplier_or_404(db, party_id)
    if await registration_of(db, supplier.id) is None:
        raise NotFoundException()
    form = await request.form()
    action, comment = str(form.get("action", "")), str(form.get("comment", "")).strip()
    # refused: no comment, or (approving) the plan's supplier limit; a conflict: decided meanwhile
    async with on_detail(
        db, user, workspace, party_id, lambda refused: {"review_errors": refused.errors, "review_comment": comment}
    ):
        if action not in REVIEW_ACTIONS:
            raise InvalidForm(FieldErrors(action=_("Choose approve, reject or request more information.")))
        async with db.begin_nested():  # an illegal move leaves nothing behind; the page still renders
            registration = await registration_to_decide(db, supplier.id)
            if registration is None:  # gone since the look above
                raise NotFoundException()
            await review(db, registration, action, comment=comment)
    return Redirect(path=f"/suppliers/{party_id}")


async def _document_or_404(db: Db, party_id: UUID, document_id: UUID, *, lock: bool = False) -> SupplierDocument:
    """Another supplier's document answers 404 like a missing one (and RLS keeps other tenants'
    rows out of reach altogether)."""
    document = await supplier_document(db, party_id, document_id, lock=lock)
    if document is None:
        raise NotFoundException()
    return document


@post(
    "/{party_id:uuid}/documents/{document_id:uuid}/review",
    guards=[staff(Permission.MANAGE_SUPPLIERS)],
    name="supplier_document_review",
)
async def review_supplier_document(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Response[Any]:
    """In the staff member's own context (no outbox here), so the trail names who reviewed; the
    lock keeps a second reviewer from deciding the same version at the same time."""
    document = await _document_or_404(db, party_id, document_id, lock=True)
    decision = str((await request.form()).get("decision", ""))
    async with on_detail(db, user, workspace, party_id):
        if decision not in ("approve", "reject"):
            raise DomainError(_("Choose approve or reject."))
        if document.status != SupplierDocumentStatus.PENDING_REVIEW:
            raise Conflict(_("This document has been reviewed already."))
    await review_document(db, document, approve=decision == "approve", today=workspace_today(workspace))
    return Redirect(path=f"/suppliers/{party_id}")


@get(
    "/{party_id:uuid}/documents/{document_id:uuid}/file",
    guards=[staff(Permission.VIEW_SUPPLIERS)],
    name="supplier_document_file",
)
async def download_document(
    request: Req, db: Db, party_id: FromPath[UUID], document_id: FromPath[UUID], inline: FromQuery[bool] = False
) -> Response[bytes]:
    """The file, saved; `inline`: shown in the reviewer's tab (PDF and images only)."""
    document = await _document_or_404(db, party_id, document_id)
    return await stored_file(
        request, document.storage_key, filename=document.filename, media_type=document.mime_type, inline=inline
    )
