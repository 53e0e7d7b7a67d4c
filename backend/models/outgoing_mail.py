"""Every e-mail Merkato sends, rendered in the recipient's language; with no SMTP server
configured (embedded mode) it is kept here and shown in the staff app instead of sent."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned


class MailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    KEPT = "kept"  # no SMTP configured: visible under Outgoing mail only
    FAILED = "failed"


class OutgoingMail(TenantOwned, Base):
    __tablename__ = "outgoing_mail"

    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(80))
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=MailStatus.QUEUED)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
