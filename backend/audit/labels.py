"""What audit actions, object types and changed fields are called in the reader's language.

Translated at call time (never at import), like role names. An action or field without a label
here is shown as recorded, so a new action is readable before it is named.
"""

from __future__ import annotations

from backend.kit.i18n import gettext as _


def action_labels() -> dict[str, str]:
    return {
        "auth.login": _("Logged in"),
        "auth.ticket_login": _("Logged in from the workspace chooser"),
        "auth.api_token": _("API token issued"),
        "auth.login_failed": _("Login failed"),
        "auth.login_throttled": _("Login refused after too many failures"),
        "auth.logout": _("Logged out"),
        "membership.created": _("User added"),
        "membership.roles_changed": _("Roles changed"),
        "membership.deactivated": _("User deactivated"),
        "membership.reactivated": _("User reactivated"),
        "supplier.created": _("Supplier created"),
        "customer.created": _("Customer created"),
    }


def object_type_labels() -> dict[str, str]:
    return {"membership": _("User"), "supplier": _("Supplier"), "customer": _("Customer")}


def field_labels() -> dict[str, str]:
    return {
        "active": _("Enabled"),
        "country": _("Country"),
        "currency": _("Currency"),
        "customer_id": _("Customer"),
        "email": _("E-mail"),
        "kind": _("Kind"),
        "name": _("Name"),
        "number": _("Number"),
        "phone": _("Phone"),
        "roles": _("Roles"),
        "status": _("Status"),
        "supplier_id": _("Supplier"),
        "tax_id": _("Tax / VAT ID"),
    }
