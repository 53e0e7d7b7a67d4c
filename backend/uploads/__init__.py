"""Uploads: the gate every user-supplied file passes before it is stored (issue 5, "Uploads").

Domain-free. A caller builds an UploadPolicy, runs inspect_upload in a thread, stores the bytes
under storage_name(accepted.kind) and keeps accepted.safe_filename for display and downloads.
"""

from backend.uploads.filenames import sanitize_filename, storage_name
from backend.uploads.gate import AcceptedUpload, inspect_upload
from backend.uploads.kinds import ALWAYS_ALLOWED, OFFICE_KINDS, AllowedKind, Reason, UploadPolicy, UploadRejected

__all__ = [
    "ALWAYS_ALLOWED",
    "OFFICE_KINDS",
    "AcceptedUpload",
    "AllowedKind",
    "Reason",
    "UploadPolicy",
    "UploadRejected",
    "inspect_upload",
    "sanitize_filename",
    "storage_name",
]
