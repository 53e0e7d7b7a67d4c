"""A file over the upload limit gets its form back with a message, not an error page.

Litestar refuses a body over `request_max_body_size` (MERKATO_UPLOAD_MAX_MB plus room for the
form's other fields) with a 413 as soon as anything reads it, and the first reader of a form is
the CSRF check, before any page handler: a person who picked too large a file would lose the page
they were on. So a multipart body that announces more than the limit is read here to its end, its
files dropped unread, and the rest of the form (the CSRF token, the document type, the dates)
handed on as the request's body. `dropped_files()` tells the page which file fields went, so it
refuses the upload with a field message; the CSRF check runs as for any other form, and nothing
of the file is kept anywhere.

Reading what is thrown away is the price of an answer a browser shows: a server that answers
before the upload is finished makes browsers report a broken connection instead. Bodies of more
than ten times the limit, and bodies that do not announce their length, are left to Litestar's
413 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from backend.kit.asgi import ASGIApp, Message, Receive, Scope, Send

# how much more than the limit is still read to its end to give the form back
READ_FACTOR = 10
# the form's own fields are a few short values; more than this is no form of ours
FIELDS_BUDGET = 64 * 1024
MAX_PARTS = 100

_DROPPED = "merkato.dropped_files"


def dropped_files(scope: Mapping[str, Any]) -> frozenset[str]:
    """The names of the file fields this request's body lost for being over the limit."""
    dropped: frozenset[str] = scope.get("state", {}).get(_DROPPED, frozenset())
    return dropped


class UploadLimit:
    """Hands on a multipart body over `max_body` (up to READ_FACTOR times it) without its files."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        boundary = self._oversized_form(scope)
        if boundary is None:
            await self.app(scope, receive, send)
            return
        body, dropped = await _without_files(receive, boundary, read_up_to=self.max_body * READ_FACTOR)
        scope["headers"] = [
            *((name, value) for name, value in scope["headers"] if name != b"content-length"),
            (b"content-length", str(len(body)).encode()),
        ]
        scope.setdefault("state", {})[_DROPPED] = dropped
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # only a disconnect can come now
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _oversized_form(self, scope: Scope) -> str | None:
        """The boundary of a multipart body announced as over the limit but within reading reach."""
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            return None
        headers = dict(scope.get("headers", ()))
        content_type, options = parse_options_header(headers.get(b"content-type", b"").decode("latin-1"))
        length = headers.get(b"content-length", b"")
        if content_type != "multipart/form-data" or not options.get("boundary") or not length.isdigit():
            return None
        if not self.max_body < int(length) <= self.max_body * READ_FACTOR:
            return None
        return str(options["boundary"])


async def _without_files(receive: Receive, boundary: str, *, read_up_to: int) -> tuple[bytes, frozenset[str]]:
    """The body read to its end (or `read_up_to`), re-encoded with its non-file fields only."""
    delimiter = b"--" + boundary.encode("latin-1")
    kept = bytearray()
    dropped: set[str] = set()
    field: bytearray | None = None  # the part being kept, headers and all
    parser: PushMultipartParser | None = PushMultipartParser(boundary, max_segment_count=MAX_PARTS)
    received = 0
    more = True
    while more and received <= read_up_to:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the page's answer will go nowhere either
        chunk, more = message.get("body", b""), message.get("more_body", False)
        received += len(chunk)
        if parser is None or not chunk:
            continue
        try:
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    if event.filename is not None:
                        dropped.add(event.name or "")
                        field = None
                    else:
                        field = bytearray(delimiter + b"\r\n")
                        for name, value in event.headerlist:
                            field += f"{name}: {value}\r\n".encode()
                        field += b"\r\n"
                elif event is None:
                    if field is not None:
                        kept += field + b"\r\n"
                    field = None
                elif field is not None:
                    field += event
                    if len(kept) + len(field) > FIELDS_BUDGET:
                        field = None  # no field of ours is this long: it goes too
        except MultipartError:
            parser = None  # malformed: keep reading (and ignoring) to its end
    return bytes(kept + delimiter + b"--\r\n"), frozenset(dropped)
