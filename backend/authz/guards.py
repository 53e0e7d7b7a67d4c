"""Route guards. The wrong audience gets 404 (as if the page did not exist); a member of the right
audience without the permission gets 403; nobody logged in gets 401 (pages turn that into the
login page). Permissions come from the one table in backend/authz/roles.py: a handler checks no
role itself, and a menu shows a page to exactly those its guard lets in (`Requires.admits`).

Guards are async on purpose: Litestar runs a sync guard in a thread pool, which would cost a
thread hand-off on every request for a few attribute checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from backend.authz.principal import ApexUser, Principal
from backend.authz.roles import Permission, may
from backend.models.membership import MembershipKind

Connection = ASGIConnection[Any, Any, Any, Any]
Guard = Callable[[Connection, BaseRouteHandler], Awaitable[None]]


class Refused(PermissionDeniedException):
    """403: the right audience without the permission. `reason` is what the error page says
    instead of its generic words, when the permission has words of its own."""

    def __init__(self, permission: Permission) -> None:
        self.reason = permission.refusal
        super().__init__(detail=self.reason or "")


def principal_of(connection: Connection) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException()
    return user


@dataclass(frozen=True, slots=True)
class Requires:
    """Members of this tenant (of one audience, if given), holding a permission (if given)."""

    kind: MembershipKind | None = None
    permission: Permission | None = None

    def admits(self, principal: Principal) -> bool:
        return (self.kind is None or principal.kind == self.kind) and (
            self.permission is None or may(principal, self.permission)
        )

    async def __call__(self, connection: Connection, _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if self.kind is not None and principal.kind != self.kind:
            raise NotFoundException()
        if self.permission is not None and not may(principal, self.permission):
            raise Refused(self.permission)


def staff(permission: Permission | None = None) -> Requires:
    return Requires(MembershipKind.STAFF, permission)


def supplier(permission: Permission | None = None) -> Requires:
    """A supplier's people (holding a permission within their company, if given)."""
    return Requires(MembershipKind.SUPPLIER, permission)


def staff_permission_or_party(permission: Permission) -> Guard:
    """For party-scoped reads open to every audience: staff need the permission, supplier and
    customer users pass and their repository shows them only their own party's rows."""

    async def guard(connection: Connection, _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal.is_staff and not may(principal, permission):
            raise Refused(permission)

    return guard


supplier_user = supplier()
customer_user = Requires(MembershipKind.CUSTOMER)
any_member = Requires()


async def apex_user(connection: Connection, _: BaseRouteHandler) -> None:
    if not isinstance(connection.scope.get("user"), ApexUser):
        raise NotAuthorizedException()
