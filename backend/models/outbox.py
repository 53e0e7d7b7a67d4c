"""The transactional outbox: work to be done after (or at a time after) the commit that asked
for it. A row is written in the same transaction as the business change; its status only moves
to done in the transaction of the job's effect, so an effect happens exactly once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxJob(TenantOwned, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        # the relay's sweep: due pending rows across all tenants, oldest first
        Index("ix_outbox_due", "run_at", postgresql_where=text("status = 'pending'")),
    )

    actor: Mapped[str] = mapped_column(String(80))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    key: Mapped[str | None] = mapped_column(String(200))
    run_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # who asked, filled in by the database from the transaction's context: a supplier's or
    # customer's person may add jobs and read back only their own (INSERT ... ON CONFLICT checks
    # the new row against the read policy), never the tenant's other work (0010)
    requested_by: Mapped[UUID | None] = mapped_column(
        server_default=text("NULLIF(current_setting('app.identity_id', true), '')::uuid")
    )
