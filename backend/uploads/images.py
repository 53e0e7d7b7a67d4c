"""The PNG and JPEG checks: Pillow decodes the whole image under a pixel limit, and the file must end
where the image ends, with no archive or markup hidden anywhere in it.

Truncation is caught by structure, not by Pillow's decoder: WeasyPrint sets the process-wide
ImageFile.LOAD_TRUNCATED_IMAGES when imported, after which load() quietly fills missing pixels.
PNG chunk CRCs and the IEND chunk (verify) and the JPEG segment walk up to EOI do not depend on it.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image, UnidentifiedImageError

from backend.kit.i18n import gettext as _
from backend.uploads.kinds import AllowedKind, Reason, UploadRejected, malformed, polyglot
from backend.uploads.signatures import (
    PNG_MAGIC,
    ZIP_LOCAL_HEADER,
    check_head,
    check_markup_anywhere,
    check_not_zip,
    check_trailer,
)

# 50 megapixels: a 600 dpi A4 scan is 35, a phone photo 12 to 50. Decoding allocates about
# width x height x 4 bytes, so this also bounds the memory one upload can take.
MAX_PIXELS = 50_000_000

# Metadata chunks and segments are few; millions of tiny ones are legal, harmless to libpng and
# libjpeg, and keep Pillow's per-chunk Python loops (and ours) busy for seconds. Large ones are
# bounded by the upload size anyway.
MAX_SMALL_PARTS = 1000
_SMALL_PART_BYTES = 1024

_PNG_CHUNK_HEADER = struct.Struct(">I4s")
_PNG_CHUNK_OVERHEAD = 12  # length, type, CRC

# What Pillow raises for a broken image, besides its own decompression bomb error.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)

# A JPEG marker: 0xFF, any number of 0xFF fill bytes, the marker code. Pillow steps over fill
# bytes before the first scan one at a time in Python (20 MB of them: 15 seconds), and encoders
# hardly ever write any, so a few KiB in all is plenty.
_MARKER = re.compile(rb"\xff+")
_MAX_FILL_BYTES = 4096
# In JPEG entropy-coded data 0xFF is always followed by 0x00 (stuffing), a restart marker or 0xFF
# (fill); any other byte after 0xFF starts the next marker segment.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_SOS, _EOI, _TEM = 0xDA, 0xD9, 0x01


def check_image(data: bytes, kind: AllowedKind) -> None:
    check_head(data)
    check_markup_anywhere(data)
    # Embedded ZIP local headers are how image/archive polyglots are built. Four bytes turn up by
    # chance in compressed pixels about once per 4 GB, so roughly one honest 10 MB photo in 400
    # is refused (and can simply be saved again): the price of not parsing every chunk.
    if ZIP_LOCAL_HEADER in data:
        raise polyglot()
    check_not_zip(data)
    # structure first: it is cheap, and it bounds the work Pillow does next
    check_trailer(data, _png_end(data) if kind is AllowedKind.PNG else _jpeg_end(data))
    _decode(data, kind)


def _decode(data: bytes, kind: AllowedKind) -> None:
    """Open, check the size before any pixel is decoded, verify, then decode it all."""
    formats = [kind.name]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            _check_pixels(image.size)
            image.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            if kind is AllowedKind.JPEG:
                # libjpeg decodes every scan at 1/8 scale: truncation and corruption still
                # surface, at 1/64 of the memory.
                image.draft(None, (1, 1))
            image.load()
    except Image.DecompressionBombError as exc:
        # Pillow's own limit is higher than ours, so its warning can only come for an image
        # _check_pixels refuses; its error comes from open(), before our check can run.
        raise _too_many_pixels() from exc
    except _DECODE_ERRORS as exc:
        raise malformed() from exc


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels()


def _too_many_pixels() -> UploadRejected:
    return UploadRejected(
        Reason.IMAGE_TOO_LARGE,
        _("The image has too many pixels (at most %(megapixels)d megapixels).") % {"megapixels": MAX_PIXELS // 10**6},
    )


def _png_end(data: bytes) -> int:
    """The offset just past the first IEND chunk (whatever follows it no PNG reader looks at)."""
    position = len(PNG_MAGIC)
    small = 0
    while position + _PNG_CHUNK_OVERHEAD <= len(data):
        length: int
        chunk_type: bytes
        length, chunk_type = _PNG_CHUNK_HEADER.unpack_from(data, position)
        position += _PNG_CHUNK_OVERHEAD + length
        if chunk_type == b"IEND" and position <= len(data):
            return position
        small += length < _SMALL_PART_BYTES
        if small > MAX_SMALL_PARTS:
            raise malformed()
    raise malformed()


def _jpeg_end(data: bytes) -> int:
    """The offset just past the EOI marker that ends the image, found by walking the segments
    (an EXIF thumbnail carries its own EOI, so searching for the bytes would stop too early)."""
    position = len(b"\xff\xd8")  # past SOI
    small = fill = 0
    while True:
        marker = _MARKER.match(data, position)
        if marker is None or marker.end() >= len(data):
            raise malformed()
        fill += marker.end() - marker.start() - 1
        if fill > _MAX_FILL_BYTES:
            raise malformed()
        code = data[marker.end()]
        position = marker.end() + 1
        if code == _EOI:
            return position
        if code == 0x00:  # stuffing outside entropy-coded data
            raise malformed()
        if code != _TEM and not 0xD0 <= code <= 0xD7:  # all but these carry a length
            length = int.from_bytes(data[position : position + 2], "big")
            if length < 2 or position + length > len(data):
                raise malformed()
            position += length
            if code == _SOS:
                found = _NEXT_MARKER.search(data, position)
                if found is None:
                    raise malformed()
                position = found.start()
            small += length < _SMALL_PART_BYTES
        else:
            small += 1
        if small > MAX_SMALL_PARTS:
            raise malformed()
