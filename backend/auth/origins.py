"""Where a request's redirects to other hosts of the platform lead, and where the request came from.
(Links in e-mails are the jobs' to make: tenants.resolution.workspace_origin.)"""

from __future__ import annotations

from typing import Any

from litestar import Request

from tenants.resolution import tenant_of, workspace_origin


def origin_of(request: Request[Any, Any, Any], slug: str | None) -> str:
    """A workspace (slug None: the apex) as the browser behind this request reaches it: the same
    scheme and port (a redirect to another host of the platform keeps working in development)."""
    settings = request.app.state.settings
    return workspace_origin(settings, slug, seen_as=request.headers.get("host", ""), scheme=request.url.scheme)


def here(request: Request[Any, Any, Any]) -> str:
    """The origin of the request's own workspace (or the apex)."""
    tenant = tenant_of(request.scope)
    return origin_of(request, tenant.slug if tenant else None)


def client_address(request: Request[Any, Any, Any]) -> str:
    """The address the request came from, for throttling: the peer, or behind the trusted reverse
    proxy what it forwarded (uvicorn rewrites the peer from X-Forwarded-For only for the proxy
    addresses in MERKATO_TRUSTED_PROXIES, so a client cannot choose its own)."""
    return request.client.host if request.client else "unknown"
