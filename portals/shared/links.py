"""Where links in e-mails about this workspace lead, as seen from the request that queues them."""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.auth.middleware import tenant_of
from backend.auth.tasks import tenant_origin


def link_origin(request: Request[Any, Any, Any]) -> str | None:
    """scheme://{slug}.{base domain}[:port] of the request's workspace (None on the apex)."""
    tenant = tenant_of(request.scope)
    if tenant is None:
        return None
    return tenant_origin(
        request.app.state.settings, tenant.slug, scheme=request.url.scheme, host=request.headers.get("host")
    )
