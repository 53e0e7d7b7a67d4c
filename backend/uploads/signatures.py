"""Byte signatures shared by the format checks: the magic numbers the gate sniffs, and the traces of
other formats whose presence turns an otherwise valid file into a polyglot.
"""

from __future__ import annotations

import io
import re
import zipfile

from backend.uploads.kinds import polyglot

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
ZIP_LOCAL_HEADER = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Browsers and old sniffers look for markup at the start of a file, and PDF readers accept a
# header anywhere in the first 1024 bytes, so that is the window checked for foreign openings.
HEAD_WINDOW = 1024
_MARKUP_IN_HEAD = re.compile(rb"<(?:!doctype|html|head|body|script|iframe|svg|object|embed)|%PDF-", re.IGNORECASE)
# Over a whole (compressed) image only markers long enough not to occur by chance: a 4-byte one
# like "<svg" (any case) would turn up in about one honest 10 MB photo in fifty.
_MARKUP_ANYWHERE = re.compile(rb"<(?:!doctype|html|body|script|iframe|\?php)", re.IGNORECASE)

# A few bytes of NUL or white space after the end marker are what sloppy writers leave; anything
# else there is data a different reader could pick up.
TRAILING_SLACK = 32
_PADDING = re.compile(rb"[\x00\t\n\r\f ]*")


def check_head(data: bytes, *, allow_pdf_header: bool = False) -> None:
    """Refuse markup (or, unless this is a PDF, a PDF header) in the window other readers sniff."""
    for match in _MARKUP_IN_HEAD.finditer(data, 0, HEAD_WINDOW):
        if not (allow_pdf_header and match.start() == 0):
            raise polyglot()


def check_markup_anywhere(data: bytes) -> None:
    if _MARKUP_ANYWHERE.search(data):
        raise polyglot()


def check_not_zip(data: bytes) -> None:
    """Refuse a file that a ZIP reader would also open (its central directory is found from the end)."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        raise polyglot()


def check_trailer(data: bytes, end: int) -> None:
    """Refuse anything but a little padding after `end`, the offset just past the format's end marker."""
    rest = len(data) - end
    if rest > TRAILING_SLACK or not _PADDING.fullmatch(data, end):
        raise polyglot()
