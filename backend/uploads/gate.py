"""The upload gate: decide from the bytes alone whether an upload is a PDF, PNG, JPEG or an office
document the tenant allows, and refuse everything else, including files that are two things at once.

The name and the client's content type are never consulted; the kind comes from the content, and
the display name gets that kind's extension. All checks are linear in the upload and bounded in
what they decompress, but they are CPU work: call inspect_upload off the event loop (in a thread).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from backend.kit.i18n import gettext as _
from backend.uploads.filenames import sanitize_filename
from backend.uploads.images import check_image
from backend.uploads.kinds import AllowedKind, Reason, UploadPolicy, UploadRejected
from backend.uploads.ooxml import check_ooxml
from backend.uploads.pdf import check_pdf
from backend.uploads.signatures import JPEG_MAGIC, OLE_MAGIC, PDF_MAGIC, PNG_MAGIC, ZIP_LOCAL_HEADER


@dataclass(frozen=True, slots=True)
class AcceptedUpload:
    kind: AllowedKind
    size: int
    sha256: str
    safe_filename: str

    @property
    def mime_type(self) -> str:
        return self.kind.mime_type


def inspect_upload(data: bytes, filename: str, policy: UploadPolicy) -> AcceptedUpload:
    """The accepted upload, or UploadRejected saying why not (its message is in the current locale)."""
    if not data:
        raise UploadRejected(Reason.EMPTY, _("The file is empty."))
    if len(data) > policy.max_bytes:  # before any parsing: the size limit also bounds every check below
        raise UploadRejected(Reason.TOO_LARGE, too_large(policy.max_bytes))
    kind = _identify(data, policy)
    if kind not in policy.allowed:
        raise UploadRejected(
            Reason.KIND_NOT_ALLOWED,
            _("%(kind)s files are not accepted here. Accepted types: %(types)s.")
            % {"kind": kind.name, "types": policy.allowed_names()},
        )
    return AcceptedUpload(
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        safe_filename=sanitize_filename(filename, kind),
    )


def _identify(data: bytes, policy: UploadPolicy) -> AllowedKind:
    if data.startswith(PDF_MAGIC):
        check_pdf(data)
        return AllowedKind.PDF
    if data.startswith(PNG_MAGIC):
        check_image(data, AllowedKind.PNG)
        return AllowedKind.PNG
    if data.startswith(JPEG_MAGIC):
        check_image(data, AllowedKind.JPEG)
        return AllowedKind.JPEG
    # A tenant that accepts no office format gets no ZIP parsing either.
    if data.startswith(ZIP_LOCAL_HEADER) and policy.office:
        kind = check_ooxml(data)
        if kind is not None:
            return kind
    if data.startswith(OLE_MAGIC):
        # Word 97-2003 and Excel 97-2003 files, and every password-protected Office file (an OLE
        # wrapper around the encrypted package): macros in them (Excel 4.0 ones live inside the
        # workbook stream) cannot be ruled out without parsing the binary formats, so none are taken.
        raise UploadRejected(
            Reason.LEGACY_OFFICE,
            _("Old Office files (DOC, XLS) and password-protected ones are not accepted. Accepted types: %(types)s.")
            % {"types": policy.allowed_names()},
        )
    raise UploadRejected(
        Reason.UNSUPPORTED_TYPE,
        _("This type of file is not accepted. Accepted types: %(types)s.") % {"types": policy.allowed_names()},
    )


def too_large(max_bytes: int) -> str:
    """What a person who chose too large a file reads, whether the gate or the request limit
    caught it."""
    return _("The file is larger than %(size)s, the most accepted here. Please choose a smaller file.") % {
        "size": _megabytes(max_bytes)
    }


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MB"
