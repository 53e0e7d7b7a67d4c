"""A supplier's registration with a tenant (self-service or invited), the review it goes through,
and the supplier's contacts. The registration is the review queue's row; its state machine is
backend/suppliers/registration.TRANSITIONS."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class RegistrationStatus(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    INFO_REQUESTED = "info_requested"  # the reviewer asked for more: the supplier fixes and resubmits
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            RegistrationStatus.DRAFT: _("Draft"),
            RegistrationStatus.SUBMITTED: _("Submitted"),
            RegistrationStatus.INFO_REQUESTED: _("More information requested"),
            RegistrationStatus.APPROVED: _("Approved"),
            RegistrationStatus.REJECTED: _("Rejected"),
        }[self]


class SupplierRegistration(TenantOwned, Base):
    __tablename__ = "supplier_registrations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "supplier_id"),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
    )

    supplier_id: Mapped[UUID]
    registrant_id: Mapped[UUID | None]  # the identity registering (None: invited, nobody yet)
    invited_email: Mapped[str | None] = mapped_column(String(320))
    invited_by: Mapped[UUID | None]  # the staff identity that sent the invitation
    # the SHA-256 of the latest invitation link's secret (backend/suppliers/tasks.send_invitation, invitations.py)
    invitation_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    invitation_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default=RegistrationStatus.DRAFT)
    review_comment: Mapped[str | None] = mapped_column(Text)  # shown to the supplier
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[UUID | None]  # identity


class SupplierContact(TenantOwned, Base):
    __tablename__ = "supplier_contacts"
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),)

    supplier_id: Mapped[UUID]
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(100))  # e.g. Sales manager


class SupplierTerms(TenantOwned, Base):
    """One version of the tenant's supplier terms. Never changed: a new text is a new version, so
    what each supplier accepted stays readable (Supplier.terms_version)."""

    __tablename__ = "supplier_terms"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    published_by: Mapped[UUID | None]  # identity
