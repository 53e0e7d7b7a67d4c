"""A membership: an identity's access to one tenant as staff, or as a user of a supplier or customer."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.kit.db import Base, TenantOwned
from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum


class MembershipKind(LabelledEnum):
    STAFF = "staff"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"

    @property
    def label(self) -> str:
        return {
            MembershipKind.STAFF: _("Staff"),
            MembershipKind.SUPPLIER: _("Supplier"),
            MembershipKind.CUSTOMER: _("Customer"),
        }[self]


class Membership(TenantOwned, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "identity_id"),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        CheckConstraint(
            "(kind = 'staff' AND supplier_id IS NULL AND customer_id IS NULL)"
            " OR (kind = 'supplier' AND supplier_id IS NOT NULL AND customer_id IS NULL)"
            " OR (kind = 'customer' AND customer_id IS NOT NULL AND supplier_id IS NULL)",
            name="party_matches_kind",
        ),
    )

    identity_id: Mapped[UUID] = mapped_column(ForeignKey("identities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    supplier_id: Mapped[UUID | None]
    customer_id: Mapped[UUID | None]
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    active: Mapped[bool] = mapped_column(default=True)
    # moved by the database whenever roles, activity or party change (migration 0009): sessions
    # and API tokens made before end on their next request
    access_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # the identity that gave this access (staff adding a user, an admin inviting a colleague, the
    # staff member who invited a supplier to register); None for self-registration and seeding.
    # Four eyes (backend/suppliers/changes.py) treat a change asked for by this membership as
    # that person's too: nobody approves what a login they handed out asked for.
    created_by: Mapped[UUID | None]

    @property
    def party_id(self) -> UUID | None:
        return self.supplier_id or self.customer_id
