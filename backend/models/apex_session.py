"""A login session on the apex host (workspace chooser); it grants no tenant data by itself."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, Timestamped
from backend.kit.ids import new_id


class ApexSession(Timestamped, Base):
    __tablename__ = "apex_sessions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    identity_id: Mapped[UUID] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    identity_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
