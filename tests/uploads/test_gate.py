"""The upload gate (issue 5, "Uploads"): genuine PDF, PNG, JPEG, DOCX and XLSX files pass, with a
clean display name and the detected kind's extension; every hostile upload in the table is refused
with the expected reason code. Pure unit tests: no database, every sample is built in code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from PIL import ImageFile

from backend.uploads import (
    OFFICE_KINDS,
    AcceptedUpload,
    AllowedKind,
    Reason,
    UploadPolicy,
    UploadRejected,
    gate,
    inspect_upload,
    sanitize_filename,
    storage_name,
)
from backend.uploads.filenames import MAX_STEM_BYTES
from tests.uploads import samples as s

MAX_BYTES = 4 * 1024 * 1024
OFFICE = UploadPolicy(max_bytes=MAX_BYTES, office=OFFICE_KINDS)
DOCX_ONLY = UploadPolicy(max_bytes=MAX_BYTES, office=frozenset({AllowedKind.DOCX}))
NO_OFFICE = UploadPolicy(max_bytes=MAX_BYTES)
TINY = UploadPolicy(max_bytes=1000, office=OFFICE_KINDS)

SCRIPT = b"<script>alert(document.cookie)</script>"
HTML = b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">' + SCRIPT + b"</svg>"


def _accept(data: bytes, filename: str, policy: UploadPolicy = OFFICE) -> AcceptedUpload:
    return inspect_upload(data, filename, policy)


# --- genuine uploads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "filename", "kind", "safe"),
    [
        pytest.param(s.pdf, "licence.pdf", AllowedKind.PDF, "licence.pdf", id="pdf"),
        pytest.param(s.png, "scan.png", AllowedKind.PNG, "scan.png", id="png"),
        pytest.param(s.jpeg, "photo.JPEG", AllowedKind.JPEG, "photo.jpg", id="jpeg"),
        pytest.param(lambda: s.image("JPEG", progressive=True), "p.jpg", AllowedKind.JPEG, "p.jpg",
                     id="jpeg-progressive"),
        pytest.param(lambda: s.image("PNG", optimize=True), "o.png", AllowedKind.PNG, "o.png", id="png-optimized"),
        pytest.param(s.docx, "ISO 9001.docx", AllowedKind.DOCX, "ISO 9001.docx", id="docx"),
        pytest.param(s.xlsx, "prices.xlsx", AllowedKind.XLSX, "prices.xlsx", id="xlsx"),
        pytest.param(s.docx_with_data_descriptors, "d.docx", AllowedKind.DOCX, "d.docx", id="docx-data-descriptors"),
        pytest.param(s.pdf, "营业执照 2026.pdf", AllowedKind.PDF, "营业执照 2026.pdf", id="chinese-name"),
        # the content decides: a PNG called .pdf is a PNG, and is named so
        pytest.param(s.png, "certificate.pdf", AllowedKind.PNG, "certificate.png", id="png-named-pdf"),
        pytest.param(s.docx, "contract.pdf", AllowedKind.DOCX, "contract.docx", id="docx-named-pdf"),
        # an EXIF-style thumbnail's EOI inside a segment does not end the image
        pytest.param(lambda: s.jpeg_with_segment(0xEF, b"thumb\xff\xd8\xff\xd9end"), "t.jpg", AllowedKind.JPEG,
                     "t.jpg", id="jpeg-eoi-inside-segment"),
        pytest.param(lambda: s.pdf() + b"\r\n\x00\x00", "p.pdf", AllowedKind.PDF, "p.pdf", id="pdf-trailing-padding"),
        pytest.param(lambda: s.pdf() + b"1 0 obj\n<<>>\nendobj\nstartxref\n9\n%%EOF\n", "u.pdf", AllowedKind.PDF,
                     "u.pdf", id="pdf-incremental-update"),
        # Word embeds an Excel workbook for every chart
        pytest.param(lambda: s.ooxml(extra={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": s.xlsx()}), "chart.docx",
                     AllowedKind.DOCX, "chart.docx", id="docx-with-embedded-xlsx"),
        # 1 MiB of zeros compresses 1000:1, but below the ratio floor that is an honest part
        pytest.param(lambda: s.ooxml(extra={"word/media/blank.bin": bytes(1 << 20)}), "b.docx", AllowedKind.DOCX,
                     "b.docx", id="docx-small-highly-compressed-part"),
    ],
)  # fmt: skip
def test_genuine_uploads_are_accepted(build: Callable[[], bytes], filename: str, kind: AllowedKind, safe: str) -> None:
    data = build()
    accepted = _accept(data, filename)
    assert accepted.kind is kind
    assert accepted.mime_type == kind.mime_type
    assert accepted.size == len(data)
    assert accepted.sha256 == hashlib.sha256(data).hexdigest()
    assert accepted.safe_filename == safe


def test_pdf_png_and_jpeg_need_no_office_policy() -> None:
    for build in (s.pdf, s.png, s.jpeg):
        assert _accept(build(), "x", NO_OFFICE).kind in NO_OFFICE.allowed


def test_an_upload_of_exactly_the_limit_is_accepted() -> None:
    data = s.pdf()
    assert _accept(data, "x.pdf", UploadPolicy(max_bytes=len(data))).size == len(data)


# --- hostile uploads ------------------------------------------------------------------------

R = Reason

HOSTILE = [
    # polyglots: valid as one format, something else to another reader
    pytest.param(lambda: s.pdf().replace(b"\n", b"\n" + HTML + b"\n", 1), "a.pdf", R.POLYGLOT, OFFICE,
                 id="pdf-with-html-header"),
    pytest.param(lambda: s.pdf().replace(b"\n", b"\n%" + SVG + b"\n", 1), "a.pdf", R.POLYGLOT, OFFICE,
                 id="pdf-with-svg-in-first-kib"),
    pytest.param(lambda: HTML + s.pdf(), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="html-with-pdf-inside"),
    pytest.param(lambda: s.pdf() + s.zip_of({"x.html": HTML}), "a.pdf", R.POLYGLOT, OFFICE, id="pdf-plus-zip"),
    pytest.param(s.pdf_with_zip_inside, "a.pdf", R.POLYGLOT, OFFICE, id="pdf-zip-comment-polyglot"),
    pytest.param(lambda: s.pdf() + SCRIPT, "a.pdf", R.POLYGLOT, OFFICE, id="pdf-script-after-eof"),
    pytest.param(lambda: s.png() + s.zip_of({"x.html": HTML}), "a.png", R.POLYGLOT, OFFICE, id="png-plus-zip"),
    pytest.param(lambda: s.jpeg() + s.zip_of({"x.html": HTML}), "a.jpg", R.POLYGLOT, OFFICE, id="jpeg-plus-zip"),
    pytest.param(lambda: s.png_with_text("Comment", SCRIPT.decode()), "a.png", R.POLYGLOT, OFFICE,
                 id="png-script-in-text-chunk"),
    pytest.param(lambda: s.image("JPEG", comment=SCRIPT), "a.jpg", R.POLYGLOT, OFFICE, id="jpeg-script-in-comment"),
    pytest.param(lambda: s.png_before_iend(s.png_chunk(b"prVt", s.zip_of({"x.html": HTML}))), "a.png", R.POLYGLOT,
                 OFFICE, id="png-zip-in-private-chunk"),
    pytest.param(lambda: s.png_with_text("Comment", "%PDF-1.4 1 0 obj"), "a.png", R.POLYGLOT, OFFICE,
                 id="png-pdf-header-in-first-kib"),
    pytest.param(lambda: s.png() + b"GIF89a trailing garbage that is not padding", "a.png", R.POLYGLOT, OFFICE,
                 id="png-data-after-iend"),
    pytest.param(lambda: s.jpeg() + b"<p>hidden</p>" + b"\xff\xd9", "a.jpg", R.POLYGLOT, OFFICE,
                 id="jpeg-data-after-eoi-ending-in-eoi"),
    pytest.param(lambda: s.image("GIF") + s.zip_of({"META-INF/MANIFEST.MF": b"Main-Class: X\n"}), "a.gif",
                 R.UNSUPPORTED_TYPE, OFFICE, id="gifar"),
    pytest.param(lambda: s.image("GIF") + s.zip_of({"META-INF/MANIFEST.MF": b"Main-Class: X\n"}), "a.png",
                 R.UNSUPPORTED_TYPE, OFFICE, id="gifar-named-png"),
    pytest.param(lambda: s.docx_with_extra_field(b"%PDF-1.4\n" + SCRIPT), "a.docx", R.POLYGLOT, OFFICE,
                 id="docx-pdf-header-in-extra-field"),
    pytest.param(lambda: s.docx() + b"appended " * 200, "a.docx", R.POLYGLOT, OFFICE, id="docx-data-appended"),
    pytest.param(lambda: s.docx_with_gap(b"hidden " * 200), "a.docx", R.POLYGLOT, OFFICE,
                 id="docx-data-between-entries"),
    pytest.param(lambda: s.ooxml(comment=b"a comment"), "a.docx", R.POLYGLOT, OFFICE, id="docx-with-zip-comment"),
    pytest.param(lambda: b"MZ\x90\x00" + s.docx(), "a.docx", R.UNSUPPORTED_TYPE, OFFICE, id="docx-after-exe-stub"),
    pytest.param(lambda: s.replace_once(s.docx(), b"word/document.xml", b"word/documenX.xml"), "a.docx",
                 R.MALFORMED, OFFICE, id="docx-local-and-central-names-differ"),
    # markup and scripts, whatever they are called
    pytest.param(lambda: HTML, "page.html", R.UNSUPPORTED_TYPE, OFFICE, id="html"),
    pytest.param(lambda: HTML, "invoice.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="html-named-pdf"),
    pytest.param(lambda: SVG, "logo.svg", R.UNSUPPORTED_TYPE, OFFICE, id="svg-with-script"),
    pytest.param(lambda: SVG, "logo.png", R.UNSUPPORTED_TYPE, OFFICE, id="svg-named-png"),
    pytest.param(lambda: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
                 "data.xml", R.UNSUPPORTED_TYPE, OFFICE, id="xml-xxe"),
    pytest.param(lambda: b'<html xmlns="http://www.w3.org/1999/xhtml">' + SCRIPT + b"</html>", "a.docx",
                 R.UNSUPPORTED_TYPE, OFFICE, id="xhtml-named-docx"),
    pytest.param(lambda: b"\xef\xbb\xbf" + HTML, "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="utf8-bom-html-named-pdf"),
    pytest.param(lambda: HTML.decode().encode("utf-16"), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="utf16-html"),
    pytest.param(lambda: b"\n" + s.pdf(), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="pdf-after-a-newline"),
    pytest.param(lambda: b"junk" + s.pdf(), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="pdf-after-junk"),
    pytest.param(lambda: b"<?php system($_GET['c']); ?>", "a.jpg", R.UNSUPPORTED_TYPE, OFFICE, id="php-named-jpg"),
    pytest.param(lambda: b"#!/bin/sh\nrm -rf /\n", "run.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="shell-script"),
    pytest.param(lambda: b"fetch('/api').then(r => r.text())\n", "a.js", R.UNSUPPORTED_TYPE, OFFICE, id="javascript"),
    pytest.param(lambda: b"{\\rtf1\\ansi{\\object\\objocx}}", "a.doc", R.UNSUPPORTED_TYPE, OFFICE, id="rtf"),
    pytest.param(lambda: "营业执照 plain text".encode(), "a.txt", R.UNSUPPORTED_TYPE, OFFICE, id="plain-text"),
    # executables and archives with a friendly name
    pytest.param(lambda: b"\x7fELF\x02\x01\x01" + bytes(64), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="elf-named-pdf"),
    pytest.param(lambda: b"MZ\x90\x00\x03" + bytes(64) + b"PE\x00\x00", "a.pdf", R.UNSUPPORTED_TYPE, OFFICE,
                 id="windows-pe-named-pdf"),
    pytest.param(lambda: b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(32), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE,
                 id="mach-o-named-pdf"),
    pytest.param(lambda: s.zip_of({"a.txt": b"x"}), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="zip-named-pdf"),
    pytest.param(s.docx, "a.docx", R.UNSUPPORTED_TYPE, NO_OFFICE, id="docx-without-office-policy"),
    pytest.param(lambda: s.zip_of({"META-INF/MANIFEST.MF": b"Main-Class: X\n", "X.class": b"\xca\xfe\xba\xbe"}),
                 "a.docx", R.UNSUPPORTED_TYPE, OFFICE, id="jar-named-docx"),
    pytest.param(lambda: b"Rar!\x1a\x07\x01\x00" + bytes(32), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="rar"),
    pytest.param(lambda: b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="7z"),
    pytest.param(lambda: b"\x1f\x8b\x08\x00" + bytes(32), "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="gzip"),
    pytest.param(lambda: s.image("GIF"), "a.gif", R.UNSUPPORTED_TYPE, OFFICE, id="gif"),
    pytest.param(lambda: s.image("WEBP"), "a.webp", R.UNSUPPORTED_TYPE, OFFICE, id="webp"),
    pytest.param(lambda: s.image("BMP"), "a.bmp", R.UNSUPPORTED_TYPE, OFFICE, id="bmp"),
    pytest.param(lambda: s.image("TIFF"), "a.tif", R.UNSUPPORTED_TYPE, OFFICE, id="tiff"),
    pytest.param(lambda: s.ooxml("pptx"), "a.pptx", R.UNSUPPORTED_TYPE, OFFICE, id="pptx"),
    pytest.param(lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "a.doc", R.LEGACY_OFFICE, OFFICE,
                 id="legacy-ole-doc"),
    pytest.param(lambda: s.zip_of({k: v for k, v in s.ooxml_entries().items() if k != "[Content_Types].xml"}),
                 "a.docx", R.UNSUPPORTED_TYPE, OFFICE, id="docx-without-content-types"),
    # empty, tiny, too big, truncated or damaged
    pytest.param(lambda: b"", "a.pdf", R.EMPTY, OFFICE, id="zero-bytes"),
    pytest.param(lambda: b"%", "a.pdf", R.UNSUPPORTED_TYPE, OFFICE, id="one-byte"),
    pytest.param(lambda: b"%PDF-1.7\n" + bytes(992), "a.pdf", R.TOO_LARGE, TINY, id="max-bytes-plus-one"),
    pytest.param(lambda: b"%PDF-1.7" + bytes(MAX_BYTES), "a.pdf", R.TOO_LARGE, OFFICE, id="oversized"),
    pytest.param(lambda: s.pdf()[: len(s.pdf()) // 2], "a.pdf", R.MALFORMED, OFFICE, id="truncated-pdf"),
    pytest.param(lambda: b"%PDF-9.9\n" + s.pdf()[9:], "a.pdf", R.MALFORMED, OFFICE, id="pdf-unknown-version"),
    pytest.param(lambda: s.png()[: len(s.png()) // 2], "a.png", R.MALFORMED, OFFICE, id="truncated-png"),
    pytest.param(lambda: s.png()[:-4], "a.png", R.MALFORMED, OFFICE, id="png-without-iend-crc"),
    pytest.param(lambda: s.png_before_iend(s.png_chunk(b"tiNy", b"") * 1001), "a.png", R.MALFORMED, OFFICE,
                 id="png-thousands-of-tiny-chunks"),
    pytest.param(lambda: s.jpeg()[:2] + b"\xff\xfe\x00\x02" * 1001 + s.jpeg()[2:], "a.jpg", R.MALFORMED, OFFICE,
                 id="jpeg-thousands-of-tiny-segments"),
    pytest.param(lambda: s.jpeg()[:2] + b"\xff" * 5000 + s.jpeg()[2:], "a.jpg", R.MALFORMED, OFFICE,
                 id="jpeg-too-many-fill-bytes"),
    pytest.param(lambda: s.png()[:8], "a.png", R.MALFORMED, OFFICE, id="png-signature-only"),
    pytest.param(lambda: s.png_before_iend(s.png_chunk(b"IDAT", b"x")[:-1] + b"\x00"), "a.png", R.MALFORMED, OFFICE,
                 id="png-bad-crc"),
    pytest.param(lambda: s.jpeg()[: len(s.jpeg()) // 2], "a.jpg", R.MALFORMED, OFFICE, id="truncated-jpeg"),
    pytest.param(lambda: s.jpeg()[:-2], "a.jpg", R.MALFORMED, OFFICE, id="jpeg-without-eoi"),
    pytest.param(lambda: b"\xff\xd8\xff", "a.jpg", R.MALFORMED, OFFICE, id="jpeg-magic-only"),
    pytest.param(lambda: s.docx()[: len(s.docx()) // 2], "a.docx", R.MALFORMED, OFFICE, id="truncated-docx"),
    # decompression bombs
    pytest.param(lambda: s.png_declaring(30000, 30000), "a.png", R.IMAGE_TOO_LARGE, OFFICE, id="png-30000x30000"),
    pytest.param(lambda: s.png_declaring(8000, 8000), "a.png", R.IMAGE_TOO_LARGE, OFFICE, id="png-64-megapixels"),
    pytest.param(lambda: s.jpeg_declaring(20000, 20000), "a.jpg", R.IMAGE_TOO_LARGE, OFFICE, id="jpeg-20000x20000"),
    pytest.param(lambda: s.docx_streaming("word/media/zeros.bin", bytes(1 << 20), 200), "a.docx", R.ARCHIVE_BOMB,
                 OFFICE, id="docx-200-mb-of-zeros"),
    pytest.param(lambda: s.ooxml(extra={f"word/media/{i}.bin": bytes(1 << 20) for i in range(101)}), "a.docx",
                 R.ARCHIVE_BOMB, OFFICE, id="docx-over-100-mb-in-small-parts"),
    pytest.param(lambda: s.ooxml(extra={f"word/p{i}.xml": b"" for i in range(10_000)}), "a.docx", R.ARCHIVE_BOMB,
                 OFFICE, id="docx-too-many-entries"),
    pytest.param(lambda: s.with_declared_size(s.docx(), "[Content_Types].xml", 20), "a.docx", R.MALFORMED, OFFICE,
                 id="docx-lying-declared-size"),
    pytest.param(lambda: s.with_header_offset(s.docx(), "word/document.xml", 0), "a.docx", R.MALFORMED, OFFICE,
                 id="docx-overlapping-entries"),
    pytest.param(lambda: s.ooxml(extra={"word/embeddings/chart.xlsx": s.nested_zip(3, 4)}), "a.docx",
                 R.ARCHIVE_NESTED, OFFICE, id="docx-42zip-style-embedding"),
    pytest.param(lambda: s.ooxml(extra={"word/media/image1.png": s.zip_of({"x.txt": b"x"})}), "a.docx",
                 R.ARCHIVE_NESTED, OFFICE, id="docx-zip-disguised-as-image"),
    pytest.param(lambda: s.nested_zip(3, 4), "a.docx", R.UNSUPPORTED_TYPE, OFFICE, id="42zip-style-named-docx"),
    # unsafe entry names, encryption, unusual compression
    pytest.param(lambda: s.ooxml(extra={"../../evil.sh": b"x"}), "a.docx", R.ARCHIVE_UNSAFE_PATH, OFFICE,
                 id="docx-dotdot-entry"),
    pytest.param(lambda: s.ooxml(extra={"word/../../evil.sh": b"x"}), "a.docx", R.ARCHIVE_UNSAFE_PATH, OFFICE,
                 id="docx-inner-dotdot-entry"),
    pytest.param(lambda: s.replace_all(s.ooxml(extra={"Xetc/cron.d/x": b"x"}), b"Xetc/", b"/etc/"), "a.docx",
                 R.ARCHIVE_UNSAFE_PATH, OFFICE, id="docx-absolute-entry"),
    pytest.param(lambda: s.ooxml(extra={"..\\..\\evil.bat": b"x"}), "a.docx", R.ARCHIVE_UNSAFE_PATH, OFFICE,
                 id="docx-backslash-entry"),
    pytest.param(lambda: s.ooxml(extra={"C:/Windows/evil.dll": b"x"}), "a.docx", R.ARCHIVE_UNSAFE_PATH, OFFICE,
                 id="docx-drive-letter-entry"),
    pytest.param(lambda: s.replace_all(s.ooxml(extra={"word/aXaa.xml.exe": b"x"}), b"aXaa", b"a\x00aa"), "a.docx",
                 R.ARCHIVE_UNSAFE_PATH, OFFICE, id="docx-nul-in-entry-name"),
    pytest.param(lambda: s.ooxml(extra={"Word/Document.xml": b"<x/>"}), "a.docx", R.MALFORMED, OFFICE,
                 id="docx-duplicate-entry-names"),
    pytest.param(lambda: s.with_flag(s.docx(), "word/document.xml", 0x1), "a.docx", R.ENCRYPTED, OFFICE,
                 id="docx-encrypted-entry"),
    pytest.param(s.docx_bzip2, "a.docx", R.MALFORMED, OFFICE, id="docx-bzip2-entry"),
    # macros and other active content
    pytest.param(lambda: s.ooxml("docm", {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), "a.docm", R.ACTIVE_CONTENT,
                 OFFICE, id="docm-with-vba-project"),
    pytest.param(lambda: s.ooxml("docx", {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), "a.docx", R.ACTIVE_CONTENT,
                 OFFICE, id="docx-hiding-vba-project"),
    pytest.param(lambda: s.ooxml("docm"), "a.docx", R.ACTIVE_CONTENT, OFFICE, id="macro-enabled-content-type"),
    pytest.param(lambda: s.ooxml("xlsx", {"xl/macrosheets/sheet1.xml": b"<xm:macrosheet/>"}), "a.xlsx",
                 R.ACTIVE_CONTENT, OFFICE, id="xlsx-excel4-macro-sheet"),
    pytest.param(lambda: s.ooxml("docx", {"word/activeX/activeX1.bin": b"\x00"}), "a.docx", R.ACTIVE_CONTENT,
                 OFFICE, id="docx-activex"),
    pytest.param(lambda: s.ooxml(extra={"word/embeddings/sheet.xlsm": s.ooxml("xlsx", {"xl/vbaProject.bin": b"v"})}),
                 "a.docx", R.ACTIVE_CONTENT, OFFICE, id="docx-embedding-macro-workbook"),
    pytest.param(lambda: s.zip_of({**s.ooxml_entries(), "[Content_Types].xml": s.BILLION_LAUGHS}), "a.docx",
                 R.MALFORMED, OFFICE, id="docx-content-types-with-dtd"),
    # the tenant's choice
    pytest.param(s.xlsx, "a.xlsx", R.KIND_NOT_ALLOWED, DOCX_ONLY, id="xlsx-not-allowed-by-policy"),
]  # fmt: skip


def test_the_hostile_table_is_large_enough() -> None:
    assert len(HOSTILE) >= 50


@pytest.mark.parametrize(("build", "filename", "reason", "policy"), HOSTILE)
def test_hostile_uploads_are_rejected(
    build: Callable[[], bytes], filename: str, reason: Reason, policy: UploadPolicy
) -> None:
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(build(), filename, policy)
    assert refused.value.reason is reason, refused.value.message
    assert refused.value.message


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: s.png()[:-12], id="png-without-iend"),
        pytest.param(lambda: s.png()[: len(s.png()) - 30], id="png-cut-in-pixel-data"),
        pytest.param(lambda: s.jpeg()[:-2], id="jpeg-without-eoi"),
        pytest.param(lambda: s.jpeg()[: len(s.jpeg()) * 2 // 3], id="jpeg-cut-in-scan"),
    ],
)
def test_truncation_is_caught_even_when_pillow_tolerates_it(
    build: Callable[[], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # what importing WeasyPrint does to every Pillow user in the process
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(build(), "a", OFFICE)
    assert refused.value.reason is Reason.MALFORMED


def test_unsupported_types_are_told_what_is_accepted() -> None:
    with pytest.raises(UploadRejected) as refused:
        inspect_upload(HTML, "a.pdf", DOCX_ONLY)
    assert "PDF, PNG, JPEG, DOCX" in refused.value.message
    assert "XLSX" not in refused.value.message


@pytest.mark.parametrize("checker", ["check_pdf", "check_image", "check_ooxml"])
def test_size_is_refused_before_anything_is_parsed(checker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object) -> None:
        pytest.fail(f"{checker} ran on an upload over the size limit")

    monkeypatch.setattr(gate, checker, never)
    for data in (s.pdf(), s.png(), s.jpeg(), s.docx_streaming("word/z.bin", bytes(1 << 20), 16)):
        with pytest.raises(UploadRejected) as refused:
            inspect_upload(data, "a", UploadPolicy(max_bytes=len(data) - 1, office=OFFICE_KINDS))
        assert refused.value.reason is Reason.TOO_LARGE


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "kind", "safe"),
    [
        ("营业执照 2026.pdf", AllowedKind.PDF, "营业执照 2026.pdf"),
        ("../../etc/passwd", AllowedKind.PDF, "passwd.pdf"),
        ("..\\..\\windows\\system32\\evil.exe", AllowedKind.PDF, "evil.pdf"),
        ("C:\\Users\\li\\Desktop\\scan.JPG", AllowedKind.JPEG, "scan.jpg"),
        ("invoice\u202efdp.exe", AllowedKind.PDF, "invoicefdp.pdf"),
        ("\u2067report\u2069\u200f.pdf", AllowedKind.PDF, "report.pdf"),
        ("zero\u200bwidth\ufeff.png", AllowedKind.PNG, "zerowidth.png"),
        ("nul\x00byte.pdf", AllowedKind.PDF, "nulbyte.pdf"),
        ("bell\x07\x1b[31mred.pdf", AllowedKind.PDF, "bell[31mred.pdf"),
        ("tab\tand\nnewline.pdf", AllowedKind.PDF, "tab and newline.pdf"),
        ("  lots   of    space  .pdf", AllowedKind.PDF, "lots of space.pdf"),
        ("\u3000全角空格\u3000.pdf", AllowedKind.PDF, "全角空格.pdf"),
        ("Cafe\u0301 menu.pdf", AllowedKind.PDF, "Caf\u00e9 menu.pdf"),
        (".htaccess", AllowedKind.PNG, "document.png"),
        ("...hidden.pdf", AllowedKind.PDF, "hidden.pdf"),
        ("..", AllowedKind.PDF, "document.pdf"),
        ("", AllowedKind.PDF, "document.pdf"),
        ("\u202e\u200b", AllowedKind.PDF, "document.pdf"),
        ("trailing dots...", AllowedKind.PDF, "trailing dots.pdf"),
        ("CON.pdf", AllowedKind.PDF, "_CON.pdf"),
        ("lpt1.tar.gz", AllowedKind.PDF, "_lpt1.tar.pdf"),
        ('a<b>c:d"e|f?g*h.pdf', AllowedKind.PDF, "a_b_c_d_e_f_g_h.pdf"),
        ("report.pdf.exe", AllowedKind.PDF, "report.pdf.pdf"),
        ("price list v1.2 final", AllowedKind.XLSX, "price list v1.2 final.xlsx"),
        ("photo.jpeg", AllowedKind.JPEG, "photo.jpg"),
        ("\U000f0000private.pdf", AllowedKind.PDF, "private.pdf"),
        ("x" * 300 + ".pdf", AllowedKind.PDF, "x" * MAX_STEM_BYTES + ".pdf"),
        ("合同" * 100 + ".pdf", AllowedKind.PDF, "合同" * 25 + ".pdf"),
    ],
)
def test_filenames_are_sanitized(filename: str, kind: AllowedKind, safe: str) -> None:
    assert sanitize_filename(filename, kind) == safe


@pytest.mark.parametrize(
    ("filename", "safe"),
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("licence\x00.pdf", "licence.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.pdf"),
    ],
)
def test_hostile_names_on_genuine_content_are_accepted_but_cleaned(filename: str, safe: str) -> None:
    accepted = _accept(s.pdf(), filename)
    assert accepted.safe_filename == safe
    assert not re.search(r"[/\\\x00-\x1f\u202a-\u202e\u2066-\u2069]", accepted.safe_filename)


def test_long_names_stay_within_file_system_limits() -> None:
    for filename in ("x" * 1000, "合同" * 1000, "\U0001f600" * 1000, "e\u0301" * 1000):
        assert len(sanitize_filename(filename, AllowedKind.XLSX).encode()) <= MAX_STEM_BYTES + len(".xlsx")


def test_storage_names_are_random_and_never_from_the_upload() -> None:
    names = {storage_name(AllowedKind.PDF) for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}\.pdf", name) for name in names)
    assert re.fullmatch(r"[0-9a-f]{32}\.xlsx", storage_name(AllowedKind.XLSX))


# --- the policy -----------------------------------------------------------------------------


def test_the_policy_always_allows_pdf_png_and_jpeg() -> None:
    assert NO_OFFICE.allowed == {AllowedKind.PDF, AllowedKind.PNG, AllowedKind.JPEG}
    assert DOCX_ONLY.allowed_names() == "PDF, PNG, JPEG, DOCX"


@pytest.mark.parametrize(
    ("max_bytes", "office"),
    [(0, frozenset()), (-1, frozenset()), (100, frozenset({AllowedKind.PDF}))],
)
def test_a_policy_that_makes_no_sense_is_refused(max_bytes: int, office: frozenset[AllowedKind]) -> None:
    with pytest.raises(ValueError, match=r"max_bytes|office"):
        UploadPolicy(max_bytes=max_bytes, office=office)
