"""The DOCX/XLSX check: a ZIP that is an Office Open XML document and nothing else, judged from its
central directory without unpacking it.

Every byte of the file must belong to a listed entry, the central directory or the end record
(no prepended, appended or hidden data); names must be safe, nothing encrypted, no macros or
ActiveX, and the declared sizes must stay within limits that make a zip bomb harmless. The only
things decompressed are [Content_Types].xml, the first bytes of each entry, and archives embedded
under */embeddings/ (an Excel chart inside a Word file), each within the same overall budget.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from backend.kit.i18n import gettext as _
from backend.uploads.kinds import AllowedKind, Reason, UploadRejected, malformed, polyglot
from backend.uploads.signatures import ZIP_LOCAL_HEADER, check_head

MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
# Small XML parts full of repeated empty cells can honestly compress past 100:1; the ratio only
# says "bomb" once the entry is big enough to hurt.
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_CONTENT_TYPES_BYTES = 1024 * 1024

_END_RECORD = struct.Struct("<4s4H2LH")  # end of central directory, as in zipfile.structEndArchive
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # as in zipfile.structFileHeader
_END_RECORD_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF
_FLAG_ENCRYPTED = 0x1
_FLAG_DATA_DESCRIPTOR = 0x8
_FLAG_UTF8 = 0x800
# A data descriptor after an entry's data: CRC and two sizes (4 or 8 bytes each), with or without its signature.
_DESCRIPTOR_SIZES = frozenset({12, 16, 20, 24})

# Absolute, drive-relative, backslashed, control-character or parent-directory names: harmless to
# zipfile, dangerous to whatever extracts the file later.
_UNSAFE_NAME = re.compile(r"[\\\x00-\x1f\x7f]|^/|^[A-Za-z]:|(?:^|/)\.\.(?:/|$)")
_ACTIVE_NAME = re.compile(
    r"(?:^|/)(?:vbaProject\.bin|vbaData\.xml|attachedToolbars\.bin)$|(?:^|/)(?:macrosheets|activeX)/", re.IGNORECASE
)
_ACTIVE_CONTENT_TYPE = re.compile(r"macro|vba|activex", re.IGNORECASE)
_EMBEDDED = re.compile(r"^[^/]+/embeddings/[^/]+$")

_CONTENT_TYPES = "[Content_Types].xml"
_CT_NAMESPACE = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# The main part of each kind and the content type that makes it that kind (the macro-enabled and
# template variants have other types and are not accepted).
_OPENXML = "application/vnd.openxmlformats-officedocument"
_MAIN_PARTS = {
    AllowedKind.DOCX: ("/word/document.xml", f"{_OPENXML}.wordprocessingml.document.main+xml"),
    AllowedKind.XLSX: ("/xl/workbook.xml", f"{_OPENXML}.spreadsheetml.sheet.main+xml"),
}

# What zipfile raises for archives it cannot read, beyond BadZipFile (NotImplementedError: a
# compression method it does not support, e.g. an entry compressed with LZMA or Deflate64).
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error, zlib.error, NotImplementedError)


@dataclass(slots=True)
class _Budget:
    """What is left to spend across the document and the archives embedded in it."""

    entries: int = MAX_ENTRIES
    uncompressed: int = MAX_UNCOMPRESSED_BYTES

    def spend(self, *, entries: int = 0, uncompressed: int = 0) -> None:
        self.entries -= entries
        self.uncompressed -= uncompressed
        if self.entries < 0 or self.uncompressed < 0:
            raise _bomb()


def check_ooxml(data: bytes) -> AllowedKind | None:
    """The kind of this DOCX or XLSX, or None for a clean ZIP that is neither; UploadRejected if unsafe."""
    check_head(data)
    budget = _Budget()
    with _checked_archive(data, budget) as archive:
        kind = _main_kind(archive)
        if kind is not None:
            _check_embedded(archive, budget, nested=False)
    return kind


def _checked_archive(data: bytes, budget: _Budget) -> zipfile.ZipFile:
    directory_offset = _central_directory_offset(data, budget)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise malformed() from exc
    infos = archive.infolist()
    _check_entries(infos, budget)
    _check_layout(data, infos, directory_offset)
    return archive


def _central_directory_offset(data: bytes, budget: _Budget) -> int:
    """Check the end record (the last 22 bytes, no comment) before zipfile reads the directory it
    points to, so an archive claiming millions of entries is refused without listing them."""
    if len(data) < _END_RECORD.size:
        raise malformed()
    end = len(data) - _END_RECORD.size
    signature, disk, directory_disk, here, total, size, offset, comment = _END_RECORD.unpack_from(data, end)
    if signature != _END_RECORD_SIGNATURE:
        # an end record a little earlier means a comment or appended data follows the archive
        appended = _END_RECORD_SIGNATURE in data[-(_END_RECORD.size + _MAX_COMMENT) :]
        raise polyglot() if appended else malformed()
    if comment or disk or directory_disk or here != total:  # Office writes neither comments nor split archives
        raise malformed()
    budget.spend(entries=total)
    if offset + size < end:  # ZIP64 records, which no Office file within our size limit needs, or hidden data
        raise polyglot()
    if offset + size > end:
        raise malformed()
    return int(offset)


def _check_entries(infos: list[zipfile.ZipInfo], budget: _Budget) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.orig_filename  # before zipfile cuts it at a NUL
        if _UNSAFE_NAME.search(name):
            raise UploadRejected(Reason.ARCHIVE_UNSAFE_PATH, _("The document contains files with unsafe names."))
        # OPC part names are case-insensitive: two spellings of one name would let readers disagree
        if name.casefold() in seen:
            raise malformed()
        seen.add(name.casefold())
        if info.flag_bits & _FLAG_ENCRYPTED:
            raise _encrypted()
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):  # the only two OPC allows
            raise malformed()
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            raise _bomb()
        if _ACTIVE_NAME.search(name):
            raise _active_content()
    budget.spend(uncompressed=sum(info.file_size for info in infos))


def _check_layout(data: bytes, infos: list[zipfile.ZipInfo], directory_offset: int) -> None:
    """Walk the local headers in file order: each entry must start where the previous one ended, carry
    the same name as in the central directory, and the last one must end where the directory starts."""
    position = 0
    descriptor = False
    for info in sorted(infos, key=lambda i: i.header_offset):
        _check_gap(info.header_offset - position, descriptor)
        try:
            signature, _v, _s, flags, *_rest, name_length, extra_length = _LOCAL_HEADER.unpack_from(
                data, info.header_offset
            )
        except struct.error as exc:
            raise malformed() from exc
        name_start = info.header_offset + _LOCAL_HEADER.size
        if signature != ZIP_LOCAL_HEADER or data[name_start : name_start + name_length] != _raw_name(info):
            raise malformed()
        if flags & _FLAG_ENCRYPTED:
            raise _encrypted()
        position = name_start + name_length + extra_length + info.compress_size
        descriptor = bool(flags & _FLAG_DATA_DESCRIPTOR)
    _check_gap(directory_offset - position, descriptor)


def _check_gap(gap: int, descriptor: bool) -> None:
    if (gap == 0 and not descriptor) or (descriptor and gap in _DESCRIPTOR_SIZES):
        return
    # bytes no entry accounts for are where a second format hides; overlapping entries are malformed
    raise polyglot() if gap > 0 else malformed()


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as stored: zipfile decoded them from UTF-8 if flagged, else CP437 (both round-trip)."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437")


def _main_kind(archive: zipfile.ZipFile) -> AllowedKind | None:
    try:
        info = archive.getinfo(_CONTENT_TYPES)
    except KeyError:
        return None
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise _bomb()
    try:
        with archive.open(info) as stream:
            # zipfile stops at the declared size, the limit above guards it once more
            raw = stream.read(MAX_CONTENT_TYPES_BYTES + 1)
        root = fromstring(raw, forbid_dtd=True)
    except (*_ZIP_ERRORS, ParseError, DefusedXmlException) as exc:
        raise malformed() from exc
    if len(raw) > MAX_CONTENT_TYPES_BYTES:
        raise _bomb()
    overrides: dict[str, str] = {}
    for element in root:
        content_type = element.get("ContentType", "")
        if _ACTIVE_CONTENT_TYPE.search(content_type):
            raise _active_content()
        if element.tag == f"{_CT_NAMESPACE}Override":
            overrides[element.get("PartName", "").casefold()] = content_type
    names = set(archive.namelist())
    found = [kind for kind, (part, typ) in _MAIN_PARTS.items() if overrides.get(part) == typ and part[1:] in names]
    if len(found) > 1:
        raise malformed()
    return found[0] if found else None


def _check_embedded(archive: zipfile.ZipFile, budget: _Budget, *, nested: bool) -> None:
    """Refuse archives inside the document, except Office files embedded where Office puts them
    (checked like the document itself, and allowed no archives of their own)."""
    for info in archive.infolist():
        if info.file_size < len(ZIP_LOCAL_HEADER):
            continue
        try:
            with archive.open(info) as stream:
                if stream.read(len(ZIP_LOCAL_HEADER)) != ZIP_LOCAL_HEADER:
                    continue
                if nested or not _EMBEDDED.match(info.orig_filename):
                    raise UploadRejected(
                        Reason.ARCHIVE_NESTED, _("The document contains other archives nested inside it.")
                    )
                # zipfile never inflates past the declared size, which the budget has already counted
                inner = ZIP_LOCAL_HEADER + stream.read()
        except _ZIP_ERRORS as exc:
            raise malformed() from exc
        with _checked_archive(inner, budget) as embedded:
            _check_embedded(embedded, budget, nested=True)


def _bomb() -> UploadRejected:
    return UploadRejected(
        Reason.ARCHIVE_BOMB, _("The document is too large or too highly compressed to be checked safely.")
    )


def _encrypted() -> UploadRejected:
    return UploadRejected(
        Reason.ENCRYPTED, _("Password-protected files cannot be checked. Please remove the password and upload again.")
    )


def _active_content() -> UploadRejected:
    return UploadRejected(
        Reason.ACTIVE_CONTENT,
        _("Documents with macros or other active content are not accepted. Please save them without macros."),
    )
