"""One-time links sent by e-mail: invitations (set a password), password resets, e-mail
verification. We keep only the token's hash; each is single use and expires."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"


class AccountToken(TenantOwned, Base):
    __tablename__ = "account_tokens"
    __table_args__ = (UniqueConstraint("tenant_id", "token_hash"),)

    identity_id: Mapped[UUID] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
