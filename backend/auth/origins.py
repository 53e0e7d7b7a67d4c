"""Where links in e-mails lead, as seen from the request that queues them, and where the request came from."""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.auth.tasks import apex_origin, tenant_origin
from tenants.resolution import tenant_of


def link_origin(request: Request[Any, Any, Any]) -> str | None:
    """scheme://{slug}.{base domain}[:port] of the request's workspace (None on the apex)."""
    tenant = tenant_of(request.scope)
    if tenant is None:
        return None
    return tenant_origin(
        request.app.state.settings, tenant.slug, scheme=request.url.scheme, host=request.headers.get("host")
    )


def apex_link_origin(request: Request[Any, Any, Any]) -> str:
    """scheme://{base domain}[:port] of the apex, as a link in an e-mail must name it."""
    return apex_origin(request.app.state.settings, scheme=request.url.scheme, host=request.headers.get("host"))


def client_address(request: Request[Any, Any, Any]) -> str:
    """The address the request came from, for throttling: the peer, or behind the trusted reverse
    proxy what it forwarded (uvicorn rewrites the peer from X-Forwarded-For only for the proxy
    addresses in MERKATO_TRUSTED_PROXIES, so a client cannot choose its own)."""
    return request.client.host if request.client else "unknown"
