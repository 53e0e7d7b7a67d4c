"""Names for an accepted upload: the display name, cleaned of whatever could mislead a reader or a
file system, and the storage name, which owes nothing to what the user sent.

The display name is what the reviewer sees and what a download offers to save; it keeps the
uploader's words (Chinese included) but always ends in the extension of the detected kind.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from backend.uploads.kinds import AllowedKind

# 150 bytes of UTF-8 (50 Chinese characters) plus the extension stays well inside the 255-byte
# name limit of common file systems, where a downloaded copy ends up.
MAX_STEM_BYTES = 150
FALLBACK_STEM = "document"

_SEPARATORS = re.compile(r"[/\\]")
# Control characters, bidi overrides and other invisible format characters (U+202E turns
# "invoice\u202efdp.exe" into what reads as "invoiceexe.pdf"), private-use, surrogates, unassigned.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_WINDOWS_FORBIDDEN = frozenset('<>:"|?*')
_UPLOADED_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_WINDOWS_RESERVED = re.compile(r"(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\..*)?", re.IGNORECASE)


def sanitize_filename(filename: str, kind: AllowedKind) -> str:
    """The uploader's name without directories, invisible characters or its own extension, plus `kind`'s."""
    name = unicodedata.normalize("NFC", "".join(_clean(char) for char in filename))
    name = " ".join(_SEPARATORS.split(name)[-1].split())
    stem = _UPLOADED_EXTENSION.sub("", name).strip(". ")
    # cut at a character boundary, then again drop the dots and spaces Windows would strip
    stem = stem.encode()[:MAX_STEM_BYTES].decode(errors="ignore").rstrip(". ")
    if _WINDOWS_RESERVED.fullmatch(stem):
        stem = f"_{stem}"
    return f"{stem or FALLBACK_STEM}.{kind.extension}"


def _clean(char: str) -> str:
    if char.isspace():
        return " "
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    return "_" if char in _WINDOWS_FORBIDDEN else char


def storage_name(kind: AllowedKind) -> str:
    """A fresh random name for storing an upload: 128 bits, lower-case hex (safe on case-insensitive
    file systems and as a storage key), and the canonical extension."""
    return f"{secrets.token_hex(16)}.{kind.extension}"
