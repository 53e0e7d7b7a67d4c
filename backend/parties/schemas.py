"""API shapes for suppliers and customers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from backend.kit.forms import CountryCode, CurrencyCode, OptionalEmail, text
from backend.models import Customer, Supplier

# The rules of a party's fields, for the API and the staff form alike (PartyForm.errors).
PartyName = Annotated[str, text(200, min_length=1)]
Phone = Annotated[str, text(40)]
TaxId = Annotated[str, text(40)]


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
    """A supplier or customer to create (the service normalises the codes to upper case)."""

    name: PartyName
    country: CountryCode
    currency: CurrencyCode
    email: OptionalEmail = ""
    phone: Phone = ""
    tax_id: TaxId = ""


class PartyPage(msgspec.Struct):
    items: list[PartyOut]
    total: int
    page: int
    size: int
