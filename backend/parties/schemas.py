"""API shapes for suppliers and customers."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from backend.models import Customer, Supplier


class PartyOut(msgspec.Struct):
    id: UUID
    number: str
    name: str
    country: str
    email: str | None
    phone: str | None
    currency: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, party: Supplier | Customer) -> PartyOut:
        return cls(
            id=party.id,
            number=party.number,
            name=party.name,
            country=party.country,
            email=party.email,
            phone=party.phone,
            currency=party.currency,
            status=party.status,
            created_at=party.created_at,
        )


class NewParty(msgspec.Struct):
    """A supplier or customer to create; checked field by field by the service (PartyForm)."""

    name: str
    country: str
    currency: str
    email: str = ""
    phone: str = ""
    tax_id: str = ""


class PartyPage(msgspec.Struct):
    items: list[PartyOut]
    total: int
    page: int
    size: int
