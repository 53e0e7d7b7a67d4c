"""Supplier registration: the record's onboarding fields and risk tier, registrations, contacts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.kit.db import APP_ROLE
from tenants.isolation import party_rls, staff_writes_rls, tenant_rls

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPPLIER_COLUMNS = (
    sa.Column("trading_name", sa.String(length=200), nullable=True),
    sa.Column("website", sa.String(length=300), nullable=True),
    sa.Column("street", sa.String(length=200), nullable=True),
    sa.Column("city", sa.String(length=100), nullable=True),
    sa.Column("postal_code", sa.String(length=20), nullable=True),
    sa.Column("terms_accepted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("terms_version", sa.Integer(), nullable=True),
    sa.Column("risk_tier", sa.String(length=10), nullable=True),
    sa.Column("risk_reason", sa.String(length=500), nullable=True),
    sa.Column("status_reason", sa.String(length=500), nullable=True),
)


def _common(table: str) -> list[sa.Column[object] | sa.Constraint]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            name=op.f(f"fk_{table}_tenant_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    for column in SUPPLIER_COLUMNS:
        op.add_column("suppliers", column)
    op.add_column("memberships", sa.Column("created_by", sa.Uuid(), nullable=True))
    op.add_column(
        "tenants",
        sa.Column(
            "supplier_office_formats",
            sa.ARRAY(sa.String(length=10)),
            server_default="{docx,xlsx}",
            nullable=False,
        ),
    )
    op.create_table(
        "supplier_registrations",
        *_common("supplier_registrations"),
        sa.Column("registrant_id", sa.Uuid(), nullable=True),
        sa.Column("invited_email", sa.String(length=320), nullable=True),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("invitation_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("invitation_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.UniqueConstraint("tenant_id", "supplier_id", name=op.f("uq_supplier_registrations_tenant_id_supplier_id")),
    )
    op.create_table(
        "supplier_contacts",
        *_common("supplier_contacts"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=True),
    )
    op.create_index(
        op.f("ix_supplier_registrations_invitation_digest"), "supplier_registrations", ["invitation_digest"]
    )
    op.create_index(op.f("ix_supplier_contacts_tenant_id_supplier_id"), "supplier_contacts", ["tenant_id", "supplier_id"])
    op.create_table(
        "supplier_terms",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_supplier_terms_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_supplier_terms")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_supplier_terms_tenant_id_version")),
    )
    # every version stays as published: what a supplier accepted must remain readable
    op.execute(f"GRANT SELECT, INSERT ON supplier_terms TO {APP_ROLE}")
    for statement in tenant_rls("supplier_terms") + staff_writes_rls("supplier_terms", ("INSERT",)):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON supplier_registrations TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON supplier_contacts TO {APP_ROLE}")
    for table in ("supplier_registrations", "supplier_contacts"):
        for statement in tenant_rls(table) + party_rls(table, supplier_column="supplier_id", customer_column=None):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("supplier_terms")
    op.drop_table("supplier_contacts")
    op.drop_table("supplier_registrations")
    op.drop_column("tenants", "supplier_office_formats")
    op.drop_column("memberships", "created_by")
    for column in reversed(SUPPLIER_COLUMNS):
        op.drop_column("suppliers", column.name)
