"""The request id: one short string per HTTP request, kept in a context variable so the audit trail
(and anything else that wants it) can name the request a change came from, and echoed in the
X-Request-ID response header so a person's "it failed at 10:42" can be matched to its rows.

A reverse proxy that already tags requests sends X-Request-ID; a sane value is kept so one id
follows the request through every hop, anything else is replaced by a fresh one.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from backend.kit.asgi import ASGIApp, Message, Receive, Scope, Send
from backend.kit.ids import new_id

HEADER = "x-request-id"
# the audit column holds 64 characters; no spaces or control characters reach logs or headers
_SANE = re.compile(r"^[A-Za-z0-9._:+/=-]{1,64}$")

_current: ContextVar[str | None] = ContextVar("merkato_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request: workers, the CLI)."""
    return _current.get()


def request_id_from(header: str | None) -> str:
    """The client's id if it is sane, else a new one."""
    if header and _SANE.match(header):
        return header
    return new_id().hex


class RequestIdMiddleware:
    """Sets the request id for the rest of the request and adds it to the response headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((value for name, value in scope.get("headers", ()) if name == HEADER.encode()), None)
        request_id = request_id_from(incoming.decode("latin-1") if incoming is not None else None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (HEADER.encode(), request_id.encode())]
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
