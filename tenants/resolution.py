"""Host -> tenant. `{slug}.{base domain}` is a tenant's workspace; the apex (and any other host,
e.g. a load balancer probing by IP) is the public site with signup, login and the chooser.

This wraps the two Litestar apps because Litestar routes by path only, and the same path
(/login) means different things on the apex and on a tenant host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any, Protocol

from backend.kit.asgi import ASGIApp, Receive, Scope, Send
from backend.settings import Settings
from tenants.directory import TenantDirectory, TenantInfo


def tenant_of(scope: Mapping[str, Any]) -> TenantInfo | None:
    """The tenant the host dispatcher resolved for this request (None on the apex)."""
    state = scope.get("state") or {}
    tenant: TenantInfo | None = state.get("tenant")
    return tenant


def workspace_origin(settings: Settings, slug: str | None, *, seen_as: str | None = None, scheme: str = "http") -> str:
    """Where a workspace's pages are (slug None: the apex), as a link must name them: in production
    https on the standard port, never what a Host header claims; elsewhere on the port the request
    came in on (`seen_as`, its Host header, with `scheme`), else the port the server listens on
    (settings.public_port: jobs compute their e-mails' links with this, out of any request)."""
    authority = f"{slug}.{settings.base_domain}" if slug else settings.base_domain
    if settings.production:
        return f"https://{authority}"
    port = seen_as.rsplit(":", 1)[1] if seen_as and ":" in seen_as and not seen_as.endswith("]") else ""
    if not port.isdigit():
        port = str(settings.public_port) if settings.public_port and seen_as is None else ""
    if port:
        authority += f":{port}"
    return f"{'https' if scheme == 'https' else 'http'}://{authority}"


class LifespanApp(Protocol):
    def lifespan(self) -> object: ...


class HostDispatcher:
    def __init__(
        self,
        *,
        apex: ASGIApp,
        tenant: ASGIApp,
        unknown_tenant: ASGIApp,
        directory: TenantDirectory,
        base_domain: str,
        apps_with_lifespan: tuple[LifespanApp, ...] = (),
        middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    ) -> None:
        """`middleware` wraps every HTTP request whichever app answers it (the first listed is
        the outermost), so what must hold for all hosts is said once."""
        self.apex = apex
        self.tenant = tenant
        self.unknown_tenant = unknown_tenant
        self.directory = directory
        self.suffix = "." + base_domain.lower()
        self.apps_with_lifespan = apps_with_lifespan
        handle: ASGIApp = self._dispatch
        for wrap in reversed(middleware):
            handle = wrap(handle)
        self._handle = handle

    def slug_of(self, scope: Scope) -> str | None:
        """The workspace slug named by the Host header, or None for the apex / foreign hosts."""
        host = ""
        for name, value in scope.get("headers", ()):
            if name == b"host":
                host = value.decode("latin-1").lower()
                break
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host.endswith(self.suffix):
            label = host[: -len(self.suffix)]
            if label and "." not in label:
                return label
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._handle(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        slug = self.slug_of(scope)
        state = scope.setdefault("state", {})
        if slug is None:
            state["tenant"] = None
            await self.apex(scope, receive, send)
            return
        tenant = await self.directory.find(slug)
        if tenant is None:
            await self.unknown_tenant(scope, receive, send)
            return
        state["tenant"] = tenant
        await self.tenant(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        stack = AsyncExitStack()
        await receive()  # lifespan.startup
        try:
            for app in self.apps_with_lifespan:
                await stack.enter_async_context(app.lifespan())  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001  (reported to the server, which stops)
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await stack.aclose()
        await send({"type": "lifespan.shutdown.complete"})
