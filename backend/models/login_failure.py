"""Failed logins, for throttling: always per client address, and per e-mail when the e-mail names
a member of the workspace it was tried on (else a stranger could slow a person down through any
workspace). Global: logins precede tenants."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base
from backend.kit.ids import new_id


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (Index(None, "email", "failed_at"), Index(None, "client_address", "failed_at"))

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str | None] = mapped_column(String(320))
    client_address: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())
