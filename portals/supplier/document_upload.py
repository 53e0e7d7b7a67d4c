"""The document upload form of the supplier's pages (its registration draft and its company
page): the form's fields, through the upload gate (backend/suppliers/documents.py)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import UploadFile

from backend.dependencies import Db
from backend.documents.storage import storage_from
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.suppliers.documents import upload_document
from backend.uploads.gate import too_large
from portals.shared.upload_limit import dropped_files


def _date(value: object) -> date | None:
    """An <input type="date"> value; anything else is no date (the gate then asks for one)."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def upload_from_form(
    request: Request[Any, Any, Any], session: Db, supplier_id: UUID, data: Any, *, today: date
) -> None:
    """Raises InvalidForm (fields "file", "document_type", "issued_on", "expires_on"); `today`
    on the workspace's clock."""
    settings = request.app.state.settings
    if "file" in dropped_files(request.scope):  # the body was over the limit: the file never arrived
        raise InvalidForm(FieldErrors(file=too_large(settings.upload_max_bytes)))
    file = data.get("file")
    if not isinstance(file, UploadFile):
        raise InvalidForm(FieldErrors(file=_("Choose a file.")))
    await upload_document(
        session,
        storage_from(settings),
        supplier_id,
        document_type=str(data.get("document_type", "")),
        data=await file.read(),
        filename=file.filename or "",
        issued_on=_date(data.get("issued_on")),
        expires_on=_date(data.get("expires_on")),
        max_bytes=settings.upload_max_bytes,
        today=today,
    )
