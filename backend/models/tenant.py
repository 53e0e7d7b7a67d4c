"""A tenant: one company using Merkato, reached at {slug}.{base domain}. Global table.

Its subscription's state is kept here too (copied from Stripe by the billing worker): every
request already reads the tenant, so access (full, grace, read-only) costs no extra query."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import ARRAY, CheckConstraint, String, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, Timestamped
from backend.kit.ids import new_id


class TenantStatus(enum.StrEnum):
    PENDING = "pending"  # signed up, waiting for Stripe to confirm the subscription
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(Timestamped, Base):
    __tablename__ = "tenants"
    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'", name="slug_format"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=TenantStatus.ACTIVE)
    plan: Mapped[str] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # the office formats (AllowedKind extensions) its suppliers may upload besides PDF, PNG, JPEG
    supplier_office_formats: Mapped[list[str]] = mapped_column(
        ARRAY(String(10)), default=lambda: ["docx", "xlsx"], server_default="{docx,xlsx}"
    )

    # --- the subscription, as Stripe last told us (all None when billing is off) ---
    billing_interval: Mapped[str | None] = mapped_column(String(10))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100))
    subscription_status: Mapped[str | None] = mapped_column(String(30))
    past_due_since: Mapped[datetime | None]  # the grace period runs from here
    trial_end: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=false())
    # bumped by every change we ask Stripe for: the idempotency keys of those writes include it
    billing_version: Mapped[int] = mapped_column(default=0, server_default="0")
