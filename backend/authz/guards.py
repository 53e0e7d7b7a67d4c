"""Route guards. The wrong audience gets 404 (as if the page did not exist); a member of the right
audience without the permission gets 403; nobody logged in gets 401 (pages turn that into the
login page).

Guards are async on purpose: Litestar runs a sync guard in a thread pool, which would cost a
thread hand-off on every request for a few attribute checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.authz.principal import ApexUser, Principal
from backend.authz.roles import Permission, permissions_of
from backend.models.membership import MembershipKind

Connection = ASGIConnection[Any, Any, Any, Any]
Guard = Callable[[Connection, BaseRouteHandler], Awaitable[None]]


def principal_of(connection: Connection) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


def member(kind: MembershipKind | None = None, permission: Permission | None = None) -> Guard:
    """Allow members of this tenant (of one kind, optionally holding a staff permission)."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if kind is not None and principal.kind != kind:
            raise NotFoundException()
        if permission is not None and permission not in permissions_of(principal.roles):
            raise PermissionDeniedException()

    return guard


def staff(permission: Permission | None = None) -> Guard:
    return member(MembershipKind.STAFF, permission)


def staff_permission_or_party(permission: Permission) -> Guard:
    """For party-scoped reads open to every audience: staff need the permission, supplier and
    customer users pass and their repository shows them only their own party's rows."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal.is_staff and permission not in permissions_of(principal.roles):
            raise PermissionDeniedException()

    return guard


supplier_user = member(MembershipKind.SUPPLIER)
customer_user = member(MembershipKind.CUSTOMER)
any_member = member()


async def apex_user(connection: Connection, _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), ApexUser):
        raise NotAuthorizedException()
