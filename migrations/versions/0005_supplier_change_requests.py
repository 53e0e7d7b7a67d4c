"""Supplier bank accounts and change requests (four eyes on bank details, legal name, tax id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from backend.kit.db import APP_ROLE
from tenants.isolation import party_rls, staff_writes_rls, tenant_rls

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("supplier_bank_accounts", "supplier_change_requests")


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
    op.create_table(
        "supplier_bank_accounts",
        *_common("supplier_bank_accounts"),
        sa.Column("holder", sa.String(length=140), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("bank_name", sa.String(length=140), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("entered_by", sa.Uuid(), nullable=True),
    )
    op.create_index(
        op.f("ix_supplier_bank_accounts_tenant_id_supplier_id"),
        "supplier_bank_accounts",
        ["tenant_id", "supplier_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "supplier_change_requests",
        *_common("supplier_change_requests"),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("proposed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
    )
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {APP_ROLE}")
        for statement in (
            tenant_rls(table)
            # a supplier's people see and propose their own supplier's rows; only staff decide
            + party_rls(table, supplier_column="supplier_id", customer_column=None)
            + staff_writes_rls(table, ("UPDATE",))
        ):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
