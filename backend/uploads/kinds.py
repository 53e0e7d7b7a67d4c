"""What the upload gate accepts and how it says no: the allowed kinds, a tenant's policy, the refusal.

Domain-free: callers build an UploadPolicy from the tenant's choice of office formats and the
size setting, and show UploadRejected.message to the uploader while logging its reason code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from backend.kit.i18n import gettext as _


class AllowedKind(enum.Enum):
    """A file type the gate can recognise by content, with the only MIME type and extension it is served under."""

    mime_type: str
    extension: str

    PDF = ("application/pdf", "pdf")
    PNG = ("image/png", "png")
    JPEG = ("image/jpeg", "jpg")
    DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
    XLSX = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")

    def __init__(self, mime_type: str, extension: str) -> None:
        self.mime_type = mime_type
        self.extension = extension


ALWAYS_ALLOWED = frozenset({AllowedKind.PDF, AllowedKind.PNG, AllowedKind.JPEG})
OFFICE_KINDS = frozenset({AllowedKind.DOCX, AllowedKind.XLSX})


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """One tenant's rules: PDF, PNG and JPEG always; `office` adds the office formats it accepts."""

    max_bytes: int
    office: frozenset[AllowedKind] = frozenset()

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {self.max_bytes}")
        if not self.office <= OFFICE_KINDS:
            raise ValueError(f"not office formats: {sorted(k.name for k in self.office - OFFICE_KINDS)}")

    @property
    def allowed(self) -> frozenset[AllowedKind]:
        return ALWAYS_ALLOWED | self.office

    def allowed_names(self) -> str:
        """The allowed types for a message, e.g. "PDF, PNG, JPEG, DOCX" (in declaration order)."""
        return ", ".join(kind.name for kind in AllowedKind if kind in self.allowed)


class Reason(enum.StrEnum):
    """Why an upload was refused: stable codes for logs, metrics and tests (the message is for people)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    KIND_NOT_ALLOWED = "kind_not_allowed"
    LEGACY_OFFICE = "legacy_office"
    MALFORMED = "malformed"
    POLYGLOT = "polyglot"
    IMAGE_TOO_LARGE = "image_too_large"
    ARCHIVE_BOMB = "archive_bomb"
    ARCHIVE_UNSAFE_PATH = "archive_unsafe_path"
    ARCHIVE_NESTED = "archive_nested"
    ENCRYPTED = "encrypted"
    ACTIVE_CONTENT = "active_content"


class UploadRejected(Exception):
    """The upload is refused; `message` is translated for the uploader, `reason` is for everyone else."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def malformed() -> UploadRejected:
    """The one refusal for damaged or truncated files of a known kind (details would only help an attacker)."""
    return UploadRejected(Reason.MALFORMED, _("The file is damaged or incomplete. Please export it again."))


def polyglot() -> UploadRejected:
    """The one refusal for files that are also something else: hidden markup, appended or embedded archives."""
    return UploadRejected(
        Reason.POLYGLOT, _("The file contains hidden content of another type. Please export it again.")
    )
