"""An in-app notification for one member (the bell). The member's party is copied onto the row
so the database's party wall applies to notifications too."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class Notification(TenantOwned, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "membership_id", "read_at"),
    )

    membership_id: Mapped[UUID]
    supplier_id: Mapped[UUID | None]
    customer_id: Mapped[UUID | None]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None]
