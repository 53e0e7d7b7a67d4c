"""A person's one global login: e-mail and name, whether the address proved itself, and the epoch
of its credentials. Tenants are reached via memberships; the password lives in `credentials`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, Timestamped
from backend.kit.ids import new_id


class Identity(Timestamped, Base):
    __tablename__ = "identities"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # set when a one-time link sent to the address was used: only then may a password exist
    verified_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(10))
    # moved by the database (migration 0009) whenever a password is set: every older session,
    # ticket and API token of this person, in every workspace, ends on its next request
    credential_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    password_set_at: Mapped[datetime | None]  # None: no password yet (invited, never accepted)

    @property
    def has_password(self) -> bool:
        return self.password_set_at is not None


class Credential(Base):
    """The password hash of an identity, apart from it: readable only by the login step for the
    e-mail being logged in, written only as the identity itself, and only once it is verified."""

    __tablename__ = "credentials"

    identity_id: Mapped[UUID] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
