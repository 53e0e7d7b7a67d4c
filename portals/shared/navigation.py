"""The navigation each person sees, from their audience and permissions (one place for the menus)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.authz.principal import Principal
from backend.authz.roles import Permission, permissions_of
from backend.kit.i18n import gettext as _
from backend.models import MembershipKind
from tenants.billing.entitlements import UPGRADE_PATH as BILLING_PATH


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    href: str

    @property
    def admin(self) -> bool:
        """Administration pages sit together under one menu, so the main bar stays on one line."""
        return self.href.startswith("/admin/")


def nav_for(user: Principal | None) -> list[NavLink]:
    if user is None:
        return []
    if user.kind == MembershipKind.SUPPLIER:
        return [NavLink(_("Home"), "/supplier"), NavLink(_("Our company"), "/supplier/company")]
    if user.kind == MembershipKind.CUSTOMER:
        return [NavLink(_("Home"), "/customer")]
    granted = permissions_of(user.roles)
    links = [NavLink(_("Dashboard"), "/")]
    if Permission.VIEW_SUPPLIERS in granted:
        links.append(NavLink(_("Suppliers"), "/suppliers"))
    if Permission.VIEW_CUSTOMERS in granted:
        links.append(NavLink(_("Customers"), "/customers"))
    if Permission.VIEW_ITEMS in granted:
        links.append(NavLink(_("Items"), "/items"))
    if Permission.MANAGE_USERS in granted:
        links.append(NavLink(_("Users"), "/admin/users"))
        links.append(NavLink(_("Failed jobs"), "/admin/jobs"))
        links.append(NavLink(_("Outgoing mail"), "/admin/mail"))
    if Permission.VIEW_AUDIT in granted:
        links.append(NavLink(_("Audit trail"), "/admin/audit"))
    if Permission.MANAGE_BILLING in granted:
        links.append(NavLink(_("Billing"), BILLING_PATH))
    return links


def home_of(user: Principal | None) -> str:
    """Where this person's portal starts ('/' for staff and for anyone not logged in here)."""
    if user is None:
        return "/"
    return {MembershipKind.SUPPLIER: "/supplier", MembershipKind.CUSTOMER: "/customer"}.get(
        MembershipKind(user.kind), "/"
    )
