"""The one Jinja environment: every portal's templates, gettext in the reader's language, filters."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, may
from backend.kit.i18n import LOCALE_NAMES, current_locale, moment, money, translated_environment
from backend.models.party import PartyStatus
from portals.shared.billing_notice import workspace_notice
from portals.shared.navigation import home_of, nav_for

PORTALS = Path(__file__).resolve().parent.parent
STATIC_DIR = PORTALS / "shared" / "static"
TEMPLATE_DIRS = [PORTALS / name / "templates" for name in ("shared", "public", "staff", "supplier", "customer")]


@pass_context
def _moment(context: Context, value: datetime) -> str:
    """{{ when | datetime }}: in the workspace's time zone (UTC outside a workspace)."""
    tenant = context["request"].scope.get("state", {}).get("tenant")
    return moment(value, tenant.timezone if tenant else "UTC")


@pass_context
def _may(context: Context, permission: Permission) -> bool:
    """{% if may(Permission.X) %}: whether the person viewing the page holds a permission, asked
    of the same table as the route guards."""
    user = context["request"].scope.get("user")
    return isinstance(user, Principal) and may(user, Permission(permission))


@cache
def environment() -> Environment:
    env = translated_environment(TEMPLATE_DIRS)
    env.filters["money"] = money
    env.filters["datetime"] = _moment
    env.filters["role"] = StaffRole.label_of
    env.filters["status"] = PartyStatus.label_of
    env.globals["party_statuses"] = list(PartyStatus)
    env.globals["current_locale"] = current_locale
    env.globals["locale_names"] = LOCALE_NAMES
    env.globals["nav_for"] = nav_for
    env.globals["may"] = _may
    env.globals["Permission"] = Permission
    env.globals["home_of"] = home_of
    env.globals["workspace_notice"] = workspace_notice
    return env
