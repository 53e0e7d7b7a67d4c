"""What suppliers and customers share: the states their record can be in."""

import enum


class PartyStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    BLOCKED = "blocked"
