"""The banner a workspace's subscription puts above every page: who sees what.

Owners and administrators see a failed payment (with the date the grace period ends); every staff
member sees read-only mode, owners with the way to billing; suppliers and customers see only a
neutral "temporarily unavailable for changes" (a buyer's billing is not their business).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Request

from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, may
from tenants.billing.access import Access
from tenants.billing.entitlements import UPGRADE_PATH
from tenants.resolution import tenant_of


@dataclass(frozen=True, slots=True)
class WorkspaceNotice:
    kind: str  # past_due | read_only | unavailable
    billing_link: str | None = None
    until: datetime | None = None


def workspace_notice(request: Request[Any, Any, Any]) -> WorkspaceNotice | None:
    tenant = tenant_of(request.scope)
    user = request.scope.get("user")
    if tenant is None or not isinstance(user, Principal):
        return None
    grace = request.app.state.settings.billing_grace
    access = tenant.access(grace, datetime.now(UTC))
    if access == Access.FULL:
        return None
    if not user.is_staff:
        return WorkspaceNotice("unavailable") if access == Access.READ_ONLY else None
    link = UPGRADE_PATH if may(user, Permission.MANAGE_BILLING) else None
    if access == Access.READ_ONLY:
        return WorkspaceNotice("read_only", billing_link=link)
    if {StaffRole.OWNER.value, StaffRole.ADMIN.value} & set(user.roles):
        until = tenant.past_due_since + grace if tenant.past_due_since else None
        return WorkspaceNotice("past_due", billing_link=link, until=until)
    return None
