"""Every e-mail Merkato sends, rendered in the recipient's language, as anyone may read it: its
one-time secrets masked. A mail that carries such secrets keeps its real message sealed beside
it (backend/notifications/sealing.py) until the mail actor has delivered it, and no longer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class MailStatus(LabelledEnum):
    QUEUED = "queued"
    SENT = "sent"
    KEPT = "kept"  # no SMTP configured: handed to the server's operator (console and data directory)
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            MailStatus.QUEUED: _("Queued"),
            MailStatus.SENT: _("Sent"),
            MailStatus.KEPT: _("Kept (no mail server)"),
            MailStatus.FAILED: _("Failed"),
        }[self]


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
    # Never loaded unless asked for (the mail actor does), and touching it unloaded raises: no
    # page or list can show it by accident.
    sealed_message: Mapped[str | None] = mapped_column(Text, deferred=True, deferred_raiseload=True)
