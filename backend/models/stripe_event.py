"""The webhook inbox: every Stripe event we accepted, once (deduplicated on Stripe's event id),
kept for the actor that applies it and for anyone asking later what Stripe told us."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class StripeEvent(TenantOwned, Base):
    __tablename__ = "stripe_events"
    # Stripe's ids are global and an event always names the same tenant, so per tenant is enough
    __table_args__ = (UniqueConstraint("tenant_id", "event_id"),)

    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    processed_at: Mapped[datetime | None]
