"""A server-side login session on one tenant host; the cookie holds a token, we keep its hash."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, ForeignKeyConstraint, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class WebSession(TenantOwned, Base):
    __tablename__ = "web_sessions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"], ["memberships.tenant_id", "memberships.id"], ondelete="CASCADE"
        ),
    )

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    identity_id: Mapped[UUID] = mapped_column(ForeignKey("identities.id"))
    membership_id: Mapped[UUID]
    expires_at: Mapped[datetime]
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # the identity's credential epoch and the membership's access epoch at login: once either
    # moves, the session is over (backend/auth/service.resolve_session)
    identity_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    access_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
