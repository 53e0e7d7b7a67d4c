"""Who may do what: every audience's roles and the one table of their permissions.

Staff hold roles in the buyer's workspace; a supplier's people hold roles within their own
company; customers' people have no roles yet (each may do what the customer portal offers). A
role's value means something only with its audience ("admin" is a staff administrator or a
supplier's own administrator), so the table is read with both. Route guards
(backend/authz/guards.py), services, menus and the flags templates get all ask `may`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from backend.authz.principal import Principal
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum
from backend.models.membership import MembershipKind


class StaffRole(LabelledEnum):
    OWNER = "owner"
    ADMIN = "admin"
    BUYER = "buyer"
    SALES = "sales"
    SUPPORT = "support"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return {
            StaffRole.OWNER: _("Owner"),
            StaffRole.ADMIN: _("Administrator"),
            StaffRole.BUYER: _("Buyer"),
            StaffRole.SALES: _("Sales"),
            StaffRole.SUPPORT: _("Support"),
            StaffRole.WAREHOUSE: _("Warehouse"),
            StaffRole.FINANCE: _("Finance"),
            StaffRole.VIEWER: _("Viewer"),
        }[self]


class SupplierRole(LabelledEnum):
    """What a supplier's people do for it (their roles within their own company)."""

    ADMIN = "admin"  # keeps the company's data and invites colleagues
    SALES = "sales"  # quotes and orders
    ACCOUNTING = "accounting"  # invoices and statements

    @property
    def label(self) -> str:
        return {
            SupplierRole.ADMIN: _("Administrator"),
            SupplierRole.SALES: _("Sales"),
            SupplierRole.ACCOUNTING: _("Accounting"),
        }[self]


class Permission(enum.StrEnum):
    # staff, in the buyer's workspace
    MANAGE_USERS = "manage_users"
    VIEW_SUPPLIERS = "view_suppliers"
    MANAGE_SUPPLIERS = "manage_suppliers"
    # a supplier's bank account, legal name or tax id, asked for by someone else (four eyes:
    # backend/suppliers/changes.py `refusal_to_decide`)
    DECIDE_SUPPLIER_CHANGES = "decide_supplier_changes"
    VIEW_CUSTOMERS = "view_customers"
    MANAGE_CUSTOMERS = "manage_customers"
    VIEW_ITEMS = "view_items"
    VIEW_AUDIT = "view_audit"  # owner and admin only
    MANAGE_BILLING = "manage_billing"  # the owner only: the subscription is the owner's contract
    # a supplier's people, on their own company
    MANAGE_COMPANY_PROFILE = "manage_company_profile"  # its profile; new legal name or tax id asked for
    MANAGE_COLLEAGUES = "manage_colleagues"  # inviting colleagues, their roles and access
    CHANGE_BANK_ACCOUNT = "change_bank_account"  # asking for a new bank account: where the money goes

    @property
    def refusal(self) -> str | None:
        """What a person without this permission is told, where the generic "your role does not
        include this" would leave them guessing whom to ask."""
        if self is Permission.DECIDE_SUPPLIER_CHANGES:
            return _("Only a member of finance can decide on this change.")
        return None


_VIEW_ALL = frozenset({Permission.VIEW_SUPPLIERS, Permission.VIEW_CUSTOMERS, Permission.VIEW_ITEMS})
# Everything staff can be given except deciding supplier changes, which is finance's alone: an
# owner or admin who may give themselves the finance role must do so, visibly, to decide.
_RUNNING_THE_WORKSPACE = frozenset(
    _VIEW_ALL
    | {
        Permission.MANAGE_USERS,
        Permission.MANAGE_SUPPLIERS,
        Permission.MANAGE_CUSTOMERS,
        Permission.VIEW_AUDIT,
        Permission.MANAGE_BILLING,
    }
)

ROLE_PERMISSIONS: Mapping[MembershipKind, Mapping[str, frozenset[Permission]]] = {
    MembershipKind.STAFF: {
        StaffRole.OWNER: _RUNNING_THE_WORKSPACE,
        StaffRole.ADMIN: _RUNNING_THE_WORKSPACE - {Permission.MANAGE_BILLING},
        StaffRole.BUYER: _VIEW_ALL | {Permission.MANAGE_SUPPLIERS},
        StaffRole.SALES: _VIEW_ALL | {Permission.MANAGE_CUSTOMERS},
        StaffRole.SUPPORT: frozenset({Permission.VIEW_CUSTOMERS, Permission.VIEW_ITEMS}),
        StaffRole.WAREHOUSE: frozenset({Permission.VIEW_SUPPLIERS, Permission.VIEW_ITEMS}),
        StaffRole.FINANCE: _VIEW_ALL | {Permission.DECIDE_SUPPLIER_CHANGES},
        StaffRole.VIEWER: _VIEW_ALL,
    },
    MembershipKind.SUPPLIER: {
        SupplierRole.ADMIN: frozenset(
            {Permission.MANAGE_COMPANY_PROFILE, Permission.MANAGE_COLLEAGUES, Permission.CHANGE_BANK_ACCOUNT}
        ),
        SupplierRole.SALES: frozenset(),
        SupplierRole.ACCOUNTING: frozenset({Permission.CHANGE_BANK_ACCOUNT}),
    },
    MembershipKind.CUSTOMER: {},
}


def permissions_of(kind: str, roles: Iterable[str]) -> frozenset[Permission]:
    """What a member of this audience holding these roles may do (an unknown role grants nothing)."""
    table = ROLE_PERMISSIONS.get(MembershipKind(kind), {})
    granted: set[Permission] = set()
    for role in roles:
        granted |= table.get(role, frozenset())
    return frozenset(granted)


def may(principal: Principal, permission: Permission) -> bool:
    """The one question guards, services, menus and templates ask."""
    return permission in permissions_of(principal.kind, principal.roles)


def roles_with(kind: MembershipKind, permission: Permission) -> list[str]:
    """The roles of an audience that grant a permission (for finding the people to tell)."""
    return sorted(role for role, granted in ROLE_PERMISSIONS[kind].items() if permission in granted)
