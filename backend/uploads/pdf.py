"""The PDF check: a PDF header at byte 0, an end-of-file marker at the very end, no markup up front.

This is a structural check, not a parse: parsing hostile PDFs is the reader's job (the browser's
sandboxed viewer), while the gate only makes sure the file is a PDF from its first byte to its
last and cannot be taken for HTML or a ZIP by anything else that looks at it.
"""

from __future__ import annotations

import re

from backend.uploads.kinds import malformed
from backend.uploads.signatures import check_head, check_not_zip, check_trailer

# "%PDF-1.7", "%PDF-2.0": at offset 0, with no junk before it (readers tolerate junk; we do not)
_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
_EOF = b"%%EOF"


def check_pdf(data: bytes) -> None:
    if not _HEADER.match(data):
        raise malformed()
    check_head(data, allow_pdf_header=True)
    # Incremental updates append sections that each end in %%EOF: the last one must end the file
    # (none at all is a truncated upload; one followed by more than padding, something appended).
    eof = data.rfind(_EOF)
    if eof < 0:
        raise malformed()
    check_trailer(data, eof + len(_EOF))
    check_not_zip(data)
