"""Plain ASGI types for the few raw ASGI callables (the host dispatcher, the unknown-host page).

Litestar's own Scope type covers only http/websocket, not the lifespan protocol, so code that
speaks ASGI directly uses these.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Callable[..., ...] so Litestar apps, typed with their narrower scope types, fit too
ASGIApp = Callable[..., Awaitable[None]]
