"""A supplier's bank accounts and the change requests behind its sensitive data.

Bank details, legal name and tax id never change in one step: a change request is made, and a
finance person other than whoever asked or typed it in approves it (four eyes). Until then the
old values stay in force — a pending bank account is never the one payments go to."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class BankAccountStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for approval: not used for payments
    ACTIVE = "active"  # the one account payments go to
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


class SupplierBankAccount(TenantOwned, Base):
    __tablename__ = "supplier_bank_accounts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        # at most one account in force per supplier
        Index(None, "tenant_id", "supplier_id", unique=True, postgresql_where=text("status = 'active'")),
    )

    supplier_id: Mapped[UUID]
    holder: Mapped[str] = mapped_column(String(140))
    account: Mapped[str] = mapped_column(String(40))  # an IBAN, or the account number outside IBAN countries
    bic: Mapped[str | None] = mapped_column(String(11))
    bank_name: Mapped[str | None] = mapped_column(String(140))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(20), default=BankAccountStatus.PENDING)
    entered_by: Mapped[UUID | None]  # the identity that typed it in


class ChangeKind(LabelledEnum):
    BANK_ACCOUNT = "bank_account"
    LEGAL_NAME = "legal_name"
    TAX_ID = "tax_id"

    @property
    def label(self) -> str:
        return {
            ChangeKind.BANK_ACCOUNT: _("Bank account"),
            ChangeKind.LEGAL_NAME: _("Legal name"),
            ChangeKind.TAX_ID: _("Tax / VAT ID"),
        }[self]


class ChangeStatus(LabelledEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            ChangeStatus.PENDING: _("Pending"),
            ChangeStatus.APPROVED: _("Approved"),
            ChangeStatus.REJECTED: _("Rejected"),
        }[self]


class SupplierChangeRequest(TenantOwned, Base):
    __tablename__ = "supplier_change_requests"
    __table_args__ = (ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),)

    supplier_id: Mapped[UUID]
    kind: Mapped[str] = mapped_column(String(20))
    # the new value(s): {"name": …}, {"tax_id": …} or {"bank_account_id": …}
    proposed: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default=ChangeStatus.PENDING)
    requested_by: Mapped[UUID | None]  # identity
    decided_by: Mapped[UUID | None]  # identity
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
