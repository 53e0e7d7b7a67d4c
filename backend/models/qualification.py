"""Supplier qualification: the tenant's category tree, the documents each category requires,
the documents suppliers upload (versioned, with issue and expiry dates, reviewed by staff), and
each supplier's qualification per category, which later issues use to block awards and POs."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class SupplierCategory(TenantOwned, Base):
    """A node of the tenant's tree of what it buys (e.g. Electronics › Passive components)."""

    __tablename__ = "supplier_categories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["supplier_categories.tenant_id", "supplier_categories.id"]),
    )

    parent_id: Mapped[UUID | None]
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class DocumentRequirement(TenantOwned, Base):
    """One line of a category's checklist: a supplier of the category must hold this document."""

    __tablename__ = "document_requirements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "category_id", "document_type"),
        ForeignKeyConstraint(["tenant_id", "category_id"], ["supplier_categories.tenant_id", "supplier_categories.id"]),
    )

    category_id: Mapped[UUID]
    document_type: Mapped[str] = mapped_column(String(40))  # business_licence, iso_9001, insurance…
    name: Mapped[str] = mapped_column(String(200))
    expires: Mapped[bool] = mapped_column(default=True)  # needs issue and expiry dates


class DocumentStatus(LabelledEnum):
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # an approved version replaced by a newer approved one

    @property
    def label(self) -> str:
        return {
            DocumentStatus.PENDING_REVIEW: _("Waiting for review"),
            DocumentStatus.APPROVED: _("Approved"),
            DocumentStatus.REJECTED: _("Rejected"),
            DocumentStatus.SUPERSEDED: _("Superseded"),
        }[self]


class SupplierDocument(TenantOwned, Base):
    """One uploaded version of a supplier's document of one type."""

    __tablename__ = "supplier_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "document_type", "version"),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
    )

    supplier_id: Mapped[UUID]
    document_type: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))  # sanitized, for display only
    storage_key: Mapped[str] = mapped_column(String(200))  # random, never from the upload's name
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date | None]
    expires_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.PENDING_REVIEW)
    uploaded_by: Mapped[UUID | None]  # identity
    reviewed_by: Mapped[UUID | None]  # identity
    reviewed_at: Mapped[datetime | None]
    # each expiry reminder goes out once per document version
    reminded_30_at: Mapped[datetime | None]
    reminded_7_at: Mapped[datetime | None]


class QualificationStatus(LabelledEnum):
    PENDING = "pending"  # documents missing or not yet approved
    QUALIFIED = "qualified"
    EXPIRED = "expired"  # a required document expired: awards and POs are blocked

    @property
    def label(self) -> str:
        return {
            QualificationStatus.PENDING: _("Pending"),
            QualificationStatus.QUALIFIED: _("Qualified"),
            QualificationStatus.EXPIRED: _("Expired"),
        }[self]


class SupplierQualification(TenantOwned, Base):
    """A supplier's standing in one category it supplies."""

    __tablename__ = "supplier_qualifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id", "category_id"),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        ForeignKeyConstraint(["tenant_id", "category_id"], ["supplier_categories.tenant_id", "supplier_categories.id"]),
    )

    supplier_id: Mapped[UUID]
    category_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(String(20), default=QualificationStatus.PENDING)
    changed_at: Mapped[datetime | None]
