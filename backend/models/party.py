"""What suppliers and customers share: the states their record can be in."""

import enum


class PartyStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    BLOCKED = "blocked"
    REJECTED = "rejected"  # a registration turned down: the record stays, read-only


class RiskTier(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
