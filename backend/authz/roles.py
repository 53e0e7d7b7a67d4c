"""Staff roles and what each may do: the one table every permission check reads."""

from __future__ import annotations

import enum
from collections.abc import Iterable

from backend.kit.i18n import gettext as _


class StaffRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    BUYER = "buyer"
    SALES = "sales"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    MANAGE_USERS = "manage_users"
    VIEW_SUPPLIERS = "view_suppliers"
    MANAGE_SUPPLIERS = "manage_suppliers"
    # a supplier's bank account, legal name or tax id (the service also wants the finance role
    # itself and a second person: backend/suppliers/changes.py)
    DECIDE_SUPPLIER_CHANGES = "decide_supplier_changes"
    VIEW_CUSTOMERS = "view_customers"
    MANAGE_CUSTOMERS = "manage_customers"
    VIEW_ITEMS = "view_items"
    VIEW_AUDIT = "view_audit"  # owner and admin only
    MANAGE_BILLING = "manage_billing"  # the owner only: the subscription is the owner's contract


_VIEW_ALL = {Permission.VIEW_SUPPLIERS, Permission.VIEW_CUSTOMERS, Permission.VIEW_ITEMS}

ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.OWNER: frozenset(Permission),
    StaffRole.ADMIN: frozenset(set(Permission) - {Permission.MANAGE_BILLING}),
    StaffRole.BUYER: frozenset(_VIEW_ALL | {Permission.MANAGE_SUPPLIERS}),
    StaffRole.SALES: frozenset(_VIEW_ALL | {Permission.MANAGE_CUSTOMERS}),
    StaffRole.SUPPORT: frozenset({Permission.VIEW_CUSTOMERS, Permission.VIEW_ITEMS}),
    StaffRole.WAREHOUSE: frozenset({Permission.VIEW_SUPPLIERS, Permission.VIEW_ITEMS}),
    StaffRole.FINANCE: frozenset(_VIEW_ALL | {Permission.DECIDE_SUPPLIER_CHANGES}),
    StaffRole.VIEWER: frozenset(_VIEW_ALL),
}


def role_label(role: str) -> str:
    """The role's name in the reader's language (translated at call time, not import time)."""
    labels = {
        StaffRole.OWNER: _("Owner"),
        StaffRole.ADMIN: _("Administrator"),
        StaffRole.BUYER: _("Buyer"),
        StaffRole.SALES: _("Sales"),
        StaffRole.SUPPORT: _("Support"),
        StaffRole.WAREHOUSE: _("Warehouse"),
        StaffRole.FINANCE: _("Finance"),
        StaffRole.VIEWER: _("Viewer"),
    }
    return labels.get(StaffRole(role), role) if role in StaffRole.__members__.values() else role


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        if role in StaffRole.__members__.values():
            granted |= ROLE_PERMISSIONS[StaffRole(role)]
    return frozenset(granted)
