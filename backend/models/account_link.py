"""One-time links sent to a mailbox. Using one proves the address: it is the only way an address
becomes verified and the only way a password is chosen. We keep only the token's hash; each link
is single use and expires. Global: an address belongs to no workspace; `workspace_id` says where
the link leads (None: the apex)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, Timestamped
from backend.kit.ids import new_id


class LinkPurpose(enum.StrEnum):
    INVITATION = "invitation"  # a workspace added someone without a password: choose one
    PASSWORD_RESET = "password_reset"
    REGISTRATION = "registration"  # continue a supplier's self-registration (the form in payload)
    SIGNUP = "signup"  # confirm the owner's address of a new workspace (payload: tenant id)
    UNLOCK = "unlock"  # log in after a right password was given to a login under attack


class AccountLink(Timestamped, Base):
    __tablename__ = "account_links"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        Index(None, "email", "purpose"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[UUID | None] = mapped_column(ForeignKey("tenants.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
