"""Supplier bank accounts and change requests (four eyes on bank details, legal name, tax id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("supplier_bank_accounts", "supplier_change_requests")

# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    # the tenant policy; a supplier's people see and propose their own supplier's rows; only staff
    # decide
    "ALTER TABLE supplier_bank_accounts ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_bank_accounts FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_bank_accounts USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY party_scope ON supplier_bank_accounts AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY staff_update ON supplier_bank_accounts AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "ALTER TABLE supplier_change_requests ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_change_requests FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_change_requests USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY party_scope ON supplier_change_requests AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY staff_update ON supplier_change_requests AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
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
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO merkato_app")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
