"""The audit trail: who did what to which object, with the changed fields. Append-only: the app
role may insert and read, never update or delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class AuditEvent(TenantOwned, Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index(None, "tenant_id", "object_type", "object_id"),
        Index(None, "tenant_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    identity_id: Mapped[UUID | None]
    membership_id: Mapped[UUID | None]
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | supplier | customer | system
    actor_name: Mapped[str | None] = mapped_column(String(320))  # as it was when it happened
    action: Mapped[str] = mapped_column(String(80))  # e.g. "membership.roles_changed"
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[UUID | None]
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # field -> [before, after]
    request_id: Mapped[str | None] = mapped_column(String(64))
