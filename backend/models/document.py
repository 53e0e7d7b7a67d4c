"""A generated document (PDF) and where its bytes are stored. Rendered only by workers; the
party columns let the database's party wall cover documents a supplier or customer may fetch."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class DocumentStatus(LabelledEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {
            DocumentStatus.PENDING: _("Being generated"),
            DocumentStatus.READY: _("Ready"),
            DocumentStatus.FAILED: _("Failed"),
        }[self]


class DocumentKind(LabelledEnum):
    SUPPLIER_SUMMARY = "supplier_summary"

    @property
    def label(self) -> str:
        return {DocumentKind.SUPPLIER_SUMMARY: _("Supplier account summary")}[self]


class Document(TenantOwned, Base):
    __tablename__ = "documents"
    __table_args__ = (Index(None, "tenant_id", "object_type", "object_id"),)

    kind: Mapped[str] = mapped_column(String(40))  # a DocumentKind
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[UUID]
    supplier_id: Mapped[UUID | None]
    customer_id: Mapped[UUID | None]
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=DocumentStatus.PENDING)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    storage_key: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
