"""A one-time, short-lived ticket that carries a login from the apex host to a tenant host."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class LoginTicket(TenantOwned, Base):
    __tablename__ = "login_tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
    )

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    membership_id: Mapped[UUID]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    identity_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    access_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # SHA-256 of the binding cookie of the browser that asked for the ticket: only that browser
    # may redeem it (a ticket pushed into someone else's browser logs nobody in)
    binding_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
