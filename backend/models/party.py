"""What suppliers and customers share: the states their record can be in."""

from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class PartyStatus(LabelledEnum):
    ACTIVE = "active"
    PENDING = "pending"
    BLOCKED = "blocked"
    REJECTED = "rejected"  # a registration turned down: the record stays, read-only

    @property
    def label(self) -> str:
        return {
            PartyStatus.ACTIVE: _("Active"),
            PartyStatus.PENDING: _("Pending"),
            PartyStatus.BLOCKED: _("Blocked"),
            PartyStatus.REJECTED: _("Rejected"),
        }[self]


class RiskTier(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self) -> str:
        return {RiskTier.LOW: _("Low"), RiskTier.MEDIUM: _("Medium"), RiskTier.HIGH: _("High")}[self]
