"""An item the tenant buys or sells; price is Decimal with its ISO 4217 currency."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class Item(TenantOwned, Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        CheckConstraint("list_price >= 0", name="price_not_negative"),
    )

    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(10), default="pcs")
    list_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    currency: Mapped[str] = mapped_column(String(3))
