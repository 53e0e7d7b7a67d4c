"""The workspace-wide guard of the tenant app: what the plan and the subscription allow.

Read-only mode refuses every request that could change something (any method but GET, HEAD,
OPTIONS) on every route, except the few marked `opt={BILLING_EXEMPT: True}`: logging in and out,
the language, resetting a password, and billing itself (an owner must be able to pay). The JSON
API is refused outright on plans without API access (its OpenAPI document describes it to anyone,
whatever the plan).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.status_codes import HTTP_403_FORBIDDEN

from backend.kit.i18n import gettext as _
from backend.kit.urls import API_DOCS, API_PREFIX
from tenants.billing.entitlements import ModuleNotInPlan, require_module
from tenants.billing.plans import Module
from tenants.resolution import tenant_of

BILLING_EXEMPT = "billing_exempt"
# the handler option of logging in and out, the language and passwords: they change a person's
# session or credentials, never the workspace's data, and an owner must get in to pay
AUTH = {BILLING_EXEMPT: True}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WorkspaceReadOnly(HTTPException):
    status_code = HTTP_403_FORBIDDEN
    template = "errors/read_only.html"


async def workspace_allows(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    tenant = tenant_of(connection.scope)
    if tenant is None:
        return
    path = connection.scope["path"]
    if path.startswith(API_PREFIX) and not path.startswith(API_DOCS):
        try:
            require_module(tenant.plan, Module.API_ACCESS)
        except ModuleNotInPlan as refusal:
            raise HTTPException(status_code=HTTP_403_FORBIDDEN, detail=str(refusal)) from refusal
    if connection.scope.get("method") in SAFE_METHODS or handler.opt.get(BILLING_EXEMPT):
        return
    if not tenant.access(connection.app.state.settings.billing_grace).writable:
        raise WorkspaceReadOnly(detail=_("This workspace is temporarily unavailable for changes."))
