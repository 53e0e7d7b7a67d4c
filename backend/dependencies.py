"""Request-scoped dependencies: one database transaction per request, committed at the boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from backend.authz.principal import Principal
from tenants.context import TenantContext
from tenants.resolution import tenant_of


async def provide_db(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """The principal's context, or for anonymous requests the host's tenant with no party (which
    sees no party-owned rows). Committed after the handler returns; rolled back if it raises."""
    user = request.scope.get("user")
    if isinstance(user, Principal):
        context = user.context
    else:
        tenant = tenant_of(request.scope)
        context = TenantContext(tenant_id=tenant.id if tenant else None)
    async with request.app.state.db.transaction(context) as session:
        yield session


# The handler parameter that receives the request's transaction.
Db = NamedDependency[AsyncSession]
