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
        "category.created": _("Supplier category created"),
        "requirement.added": _("Required document added"),
        "requirement.removed": _("Required document removed"),
        "supplier_terms.published": _("Supplier terms published"),
        "uploads.office_formats_changed": _("Accepted office formats changed"),
        "registration.invited": _("Supplier invited to register"),
        "registration.invitation_sent": _("Invitation sent again"),
        "registration.started": _("Registration started"),
        "registration.submit": _("Registration submitted"),
        "registration.approve": _("Registration approved"),
        "registration.reject": _("Registration rejected"),
        "registration.request_info": _("More information requested"),
        "supplier.profile_changed": _("Company profile changed"),
        "supplier.change_requested": _("Change of sensitive data requested"),
        "supplier.change_approved": _("Change of sensitive data approved"),
        "supplier.change_rejected": _("Change of sensitive data rejected"),
        "supplier.risk_set": _("Risk tier set"),
        "supplier.blocked": _("Supplier blocked"),
        "supplier.unblocked": _("Supplier unblocked"),
        "supplier_document.uploaded": _("Document uploaded"),
        "supplier_document.approved": _("Document approved"),
        "supplier_document.rejected": _("Document rejected"),
        "qualification.changed": _("Qualification changed"),
    }


def object_type_labels() -> dict[str, str]:
    return {
        "membership": _("User"),
        "supplier": _("Supplier"),
        "customer": _("Customer"),
        "supplier_category": _("Supplier category"),
        "supplier_terms": _("Supplier terms"),
        "tenant": _("Workspace"),
    }


def field_labels() -> dict[str, str]:
    return {
        "account": _("Bank account"),
        "active": _("Enabled"),
        "category_id": _("Category"),
        "city": _("City"),
        "comment": _("Comment"),
        "document_type": _("Document"),
        "expires": _("It has issue and expiry dates"),
        "expires_on": _("Expires"),
        "invited_email": _("Invited"),
        "postal_code": _("Postal code"),
        "reason": _("Reason"),
        "risk_reason": _("Risk reason"),
        "risk_tier": _("Risk tier"),
        "street": _("Street"),
        "trading_name": _("Trading name"),
        "version": _("Version"),
        "website": _("Website"),
        "country": _("Country"),
        "currency": _("Currency"),
        "customer_id": _("Customer"),
        "email": _("E-mail"),
        "kind": _("Kind"),
        "name": _("Name"),
        "number": _("Number"),
        "office_formats": _("Office formats"),
        "phone": _("Phone"),
        "roles": _("Roles"),
        "status": _("Status"),
        "status_reason": _("Reason"),
        "supplier_id": _("Supplier"),
        "tax_id": _("Tax / VAT ID"),
    }
