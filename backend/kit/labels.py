"""Enums whose members have a name people read. The label lives on the member and nowhere else:
pages, exports, e-mails and the audit trail all ask `member.label`, translated when it is read,
so in the reader's language."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    @property
    def label(self) -> str:
        """The member's name in the reader's language: each enum gives its members theirs (a test
        checks every member has an English and a Chinese one); the stored value is the fallback."""
        return str(self.value)

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored value; a value no member has (a row written by a newer release)
        shows as it is stored rather than failing the page."""
        if not value:
            return ""
        try:
            return cls(value).label
        except ValueError:
            return value
