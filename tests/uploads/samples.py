"""Upload samples made in code: genuine files of every kind the gate knows, and the tools to spoil them.

Everything is built in memory (Pillow for images, zipfile for Office files, WeasyPrint for one
real PDF) and cached, so the hostile table can derive dozens of variants without any fixture file.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Mapping
from functools import cache

import weasyprint
from PIL import Image, PngImagePlugin

OOXML = "application/vnd.openxmlformats-officedocument"
_RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"

# kind -> (main part, its content type, its content)
MAIN_PARTS = {
    "docx": (
        "word/document.xml",
        f"{OOXML}.wordprocessingml.document.main+xml",
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>ISO 9001</w:t></w:r></w:p></w:body></w:document>",
    ),
    "xlsx": (
        "xl/workbook.xml",
        f"{OOXML}.spreadsheetml.sheet.main+xml",
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>',
    ),
    "pptx": (
        "ppt/presentation.xml",
        f"{OOXML}.presentationml.presentation.main+xml",
        b'<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>',
    ),
    "docm": (
        "word/document.xml",
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body/></w:document>',
    ),
}


@cache
def pdf() -> bytes:
    return bytes(weasyprint.HTML(string="<h1>Business licence</h1><p>No. 91310000</p>").write_pdf())


def _picture(size: tuple[int, int]) -> Image.Image:
    return Image.linear_gradient("L").resize(size).convert("RGB")


def image(fmt: str, size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    out = io.BytesIO()
    _picture(size).save(out, fmt, **options)
    return out.getvalue()


@cache
def png() -> bytes:
    return image("PNG")


@cache
def jpeg() -> bytes:
    return image("JPEG", quality=85)


def png_with_text(key: str, value: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return image("PNG", pnginfo=info)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A grey-scale PNG whose header claims `width` x `height`, with whatever image data is given."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 64) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def png_before_iend(chunk: bytes) -> bytes:
    """The sample PNG with `chunk` inserted just before its 12-byte IEND chunk."""
    base = png()
    return base[:-12] + chunk + base[-12:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """The sample JPEG with its frame header (SOF0) rewritten to claim another size."""
    data = bytearray(jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    """The sample JPEG with an extra marker segment right after SOI."""
    base = jpeg()
    return base[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + base[2:]


def zip_of(entries: Mapping[str, bytes], *, comment: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        archive.comment = comment
    return out.getvalue()


def content_types(*overrides: tuple[str, str], defaults: tuple[tuple[str, str], ...] = ()) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
        f'<Default Extension="rels" ContentType="{_RELS_TYPE}"/>',
        '<Default Extension="xml" ContentType="application/xml"/>',
        *(f'<Default Extension="{ext}" ContentType="{ctype}"/>' for ext, ctype in defaults),
        *(f'<Override PartName="/{part}" ContentType="{ctype}"/>' for part, ctype in overrides),
        "</Types>",
    ]
    return "".join(parts).encode()


def ooxml_entries(kind: str = "docx") -> dict[str, bytes]:
    """The parts of a minimal document Word or Excel opens: content types, package relationships, main part."""
    part, ctype, body = MAIN_PARTS[kind]
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_OFFICE_DOCUMENT}" Target="{part}"/></Relationships>'
    )
    return {"[Content_Types].xml": content_types((part, ctype)), "_rels/.rels": rels.encode(), part: body}


def ooxml(kind: str = "docx", extra: Mapping[str, bytes] | None = None, *, comment: bytes = b"") -> bytes:
    return zip_of({**ooxml_entries(kind), **(extra or {})}, comment=comment)


@cache
def docx() -> bytes:
    return ooxml("docx")


@cache
def xlsx() -> bytes:
    return ooxml("xlsx")


class _Unseekable(io.BytesIO):
    """An output that cannot seek back, as a pipe or a socket is."""

    def seek(self, offset: int, whence: int = 0) -> int:
        raise OSError("not seekable")


def docx_with_data_descriptors() -> bytes:
    """A DOCX written to an output that cannot seek back, so every entry's sizes follow its data."""
    out = _Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in ooxml_entries().items():
            archive.writestr(part, content)
    return out.getvalue()


def docx_bzip2() -> bytes:
    """A DOCX with one part compressed by bzip2, a method ZIP knows and OOXML does not allow."""
    out = io.BytesIO(docx())
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("word/media/extra.bin", b"x" * 100, compress_type=zipfile.ZIP_BZIP2)
    return out.getvalue()


def docx_streaming(name: str, chunk: bytes, count: int) -> bytes:
    """A DOCX with one extra entry of `count` x `chunk`, written as a stream (never held in memory)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in ooxml_entries().items():
            archive.writestr(part, content)
        with archive.open(name, "w", force_zip64=False) as stream:
            for _ in range(count):
                stream.write(chunk)
    return out.getvalue()


def docx_with_gap(junk: bytes) -> bytes:
    """A DOCX with `junk` between two entries, where no entry and no directory record points."""
    out = io.BytesIO()
    entries = list(ooxml_entries().items())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(*entries[0])
        out.write(junk)
        # zipfile writes the next entry at start_dir: move it past the junk
        archive.start_dir = out.tell()
        for part, content in entries[1:]:
            archive.writestr(part, content)
    return out.getvalue()


def docx_with_extra_field(extra: bytes) -> bytes:
    """A DOCX whose first entry carries `extra` as a private extra field (ZIP allows any bytes there)."""
    out = io.BytesIO()
    entries = list(ooxml_entries().items())
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(entries[0][0])
        info.extra = struct.pack("<HH", 0xCAFE, len(extra)) + extra
        archive.writestr(info, entries[0][1])
        for part, content in entries[1:]:
            archive.writestr(part, content)
    return out.getvalue()


def _header_offsets(data: bytes, name: str) -> tuple[int, int]:
    """Where the local header and the central directory record of entry `name` start."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
    directory = struct.unpack_from("<L", data, len(data) - 6)[0]
    central = data.index(b"PK\x01\x02", directory)
    while data[central + 46 : central + 46 + len(name)] != name.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    return local, central


def with_flag(data: bytes, name: str, flag: int) -> bytes:
    """`data` with a general-purpose flag set on entry `name`, in both its headers."""
    local, central = _header_offsets(data, name)
    patched = bytearray(data)
    for at in (local + 6, central + 8):
        struct.pack_into("<H", patched, at, struct.unpack_from("<H", patched, at)[0] | flag)
    return bytes(patched)


def with_declared_size(data: bytes, name: str, size: int) -> bytes:
    """`data` with entry `name` claiming an uncompressed size it does not have, in both its headers."""
    local, central = _header_offsets(data, name)
    patched = bytearray(data)
    struct.pack_into("<L", patched, local + 22, size)
    struct.pack_into("<L", patched, central + 24, size)
    return bytes(patched)


def with_header_offset(data: bytes, name: str, offset: int) -> bytes:
    """`data` with the directory record of `name` pointing at another local header."""
    _, central = _header_offsets(data, name)
    patched = bytearray(data)
    struct.pack_into("<L", patched, central + 42, offset)
    return bytes(patched)


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with the first `old` replaced by `new` of the same length (offsets stay valid)."""
    assert len(old) == len(new)
    assert old in data
    return data.replace(old, new, 1)


def replace_all(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    assert old in data
    return data.replace(old, new)


def nested_zip(depth: int, width: int) -> bytes:
    """A 42.zip in miniature: `width` copies of the level below at every level, a block of zeros at the bottom."""
    if depth == 0:
        return bytes(1 << 16)
    inner = nested_zip(depth - 1, width)
    return zip_of({f"{depth}-{i}.zip": inner for i in range(width)})


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Types [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&c;</Types>"""


def pdf_with_zip_inside() -> bytes:
    """A PDF that a ZIP reader also opens: the archive sits before %%EOF and its comment swallows the rest."""
    tail = b"%%EOF\n"
    base = pdf()
    assert base.endswith(tail)
    archive = zip_of({"payload.html": b"<script>alert(1)</script>"})
    archive = archive[:-2] + struct.pack("<H", len(tail))  # the comment length: the PDF's last line
    return base[: -len(tail)] + archive + tail
