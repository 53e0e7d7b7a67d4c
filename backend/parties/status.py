"""The names people read for the states of a supplier or customer record."""

from __future__ import annotations

from backend.kit.i18n import gettext as _
from backend.models.party import PartyStatus


def status_label(status: str) -> str:
    labels = {
        PartyStatus.ACTIVE: _("Active"),
        PartyStatus.PENDING: _("Pending"),
        PartyStatus.BLOCKED: _("Blocked"),
        PartyStatus.REJECTED: _("Rejected"),
    }
    return labels[PartyStatus(status)] if status in PartyStatus.__members__.values() else status
