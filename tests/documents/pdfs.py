"""Reading generated PDFs back in tests."""

from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(pdf: bytes) -> str:
    """The text of every page (pypdf maps CJK glyphs back through the embedded fonts' ToUnicode)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
