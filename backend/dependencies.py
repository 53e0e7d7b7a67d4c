"""Request-scoped dependencies: one database transaction per request, committed at the boundary,
and who is asking on which host, typed. The auth middleware and the host dispatcher put the latter
in the ASGI scope; handlers take them from here and never read the scope themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from backend.authz.principal import ApexUser, Principal
from tenants.context import TenantContext
from tenants.directory import TenantInfo
from tenants.resolution import tenant_of

Req = Request[Any, Any, Any]


async def provide_db(request: Req) -> AsyncIterator[AsyncSession]:
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


def provide_visitor(request: Req) -> Principal | ApexUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal | ApexUser) else None


def provide_user(request: Req) -> Principal:
    """The member of the host's tenant making the request; the route's guard has let only members
    through, so without one this is a 401 like any unauthenticated request."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


def provide_apex_identity(request: Req) -> ApexUser:
    """The identity logged in on the apex host (its routes' guard lets no one else through)."""
    user = request.scope.get("user")
    if not isinstance(user, ApexUser):
        raise NotAuthorizedException()
    return user


def provide_host_tenant(request: Req) -> TenantInfo | None:
    return tenant_of(request.scope)


def provide_workspace(request: Req) -> TenantInfo:
    """The workspace whose host the request came to; a page that exists only there is a 404 on
    the apex."""
    tenant = tenant_of(request.scope)
    if tenant is None:
        raise NotFoundException()
    return tenant


# The handler parameters that receive them, by name (a handler declares `db: Db`, `user: CurrentUser`…).
# The middleware made these values itself: validating them again would only copy them.
Db = NamedDependency[AsyncSession]
# whoever is logged in on this host, if anyone: a member (tenant host), an identity (apex) or None
Visitor = NamedDependency[SkipValidation[Principal | ApexUser | None]]
CurrentUser = NamedDependency[SkipValidation[Principal]]
ApexIdentity = NamedDependency[SkipValidation[ApexUser]]
# the host's workspace, None on the apex (for pages both kinds of host serve)
HostTenant = NamedDependency[SkipValidation[TenantInfo | None]]
Workspace = NamedDependency[SkipValidation[TenantInfo]]

DEPENDENCIES = {
    "db": Provide(provide_db),
    "visitor": Provide(provide_visitor, sync_to_thread=False),
    "user": Provide(provide_user, sync_to_thread=False),
    "apex_identity": Provide(provide_apex_identity, sync_to_thread=False),
    "tenant": Provide(provide_host_tenant, sync_to_thread=False),
    "workspace": Provide(provide_workspace, sync_to_thread=False),
}
