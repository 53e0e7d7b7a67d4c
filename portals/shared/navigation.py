"""The navigation each person sees: an entry for each page whose route guard lets them in. Each
entry names the guard of its page's route (a test holds them to the routes), so a menu cannot
offer a page its guard refuses, nor hide one it admits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.authz.guards import Requires, customer_user, staff, supplier_user
from backend.authz.principal import Principal
from backend.authz.roles import Permission
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


@dataclass(frozen=True, slots=True)
class MenuEntry:
    label: Callable[[], str]  # translated when the menu is built, in the reader's language
    href: str
    guard: Requires  # the guard of the GET route at `href`


MENU: tuple[MenuEntry, ...] = (
    MenuEntry(lambda: _("Dashboard"), "/", staff()),
    MenuEntry(lambda: _("Suppliers"), "/suppliers", staff(Permission.VIEW_SUPPLIERS)),
    MenuEntry(lambda: _("Customers"), "/customers", staff(Permission.VIEW_CUSTOMERS)),
    MenuEntry(lambda: _("Items"), "/items", staff(Permission.VIEW_ITEMS)),
    MenuEntry(lambda: _("Users"), "/admin/users", staff(Permission.MANAGE_USERS)),
    MenuEntry(lambda: _("Failed jobs"), "/admin/jobs", staff(Permission.MANAGE_USERS)),
    MenuEntry(lambda: _("Outgoing mail"), "/admin/mail", staff(Permission.MANAGE_USERS)),
    MenuEntry(lambda: _("Audit trail"), "/admin/audit", staff(Permission.VIEW_AUDIT)),
    MenuEntry(lambda: _("Billing"), BILLING_PATH, staff(Permission.MANAGE_BILLING)),
    MenuEntry(lambda: _("Home"), "/supplier", supplier_user),
    MenuEntry(lambda: _("Our company"), "/supplier/company", supplier_user),
    MenuEntry(lambda: _("Home"), "/customer", customer_user),
)


def nav_for(user: Principal | None) -> list[NavLink]:
    if user is None:
        return []
    return [NavLink(entry.label(), entry.href) for entry in MENU if entry.guard.admits(user)]


def home_of(user: Principal | None) -> str:
    """Where this person's portal starts ('/' for staff and for anyone not logged in here)."""
    if user is None:
        return "/"
    return {MembershipKind.SUPPLIER: "/supplier", MembershipKind.CUSTOMER: "/customer"}.get(
        MembershipKind(user.kind), "/"
    )
