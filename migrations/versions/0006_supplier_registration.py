"""Supplier registration: the record's onboarding fields and risk tier, registrations, contacts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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
    op.execute("GRANT SELECT, INSERT ON supplier_terms TO merkato_app")
    op.execute("GRANT SELECT, INSERT, UPDATE ON supplier_registrations TO merkato_app")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON supplier_contacts TO merkato_app")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    # supplier_terms: staff publish the versions
    "ALTER TABLE supplier_terms ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_terms FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_terms USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY staff_insert ON supplier_terms AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    # registrations and contacts: a supplier's people reach their own supplier's rows
    "ALTER TABLE supplier_registrations ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_registrations FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_registrations USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY party_scope ON supplier_registrations AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "ALTER TABLE supplier_contacts ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_contacts FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_contacts USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY party_scope ON supplier_contacts AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
)


def downgrade() -> None:
    op.drop_table("supplier_terms")
    op.drop_table("supplier_contacts")
    op.drop_table("supplier_registrations")
    op.drop_column("tenants", "supplier_office_formats")
    op.drop_column("memberships", "created_by")
    for column in reversed(SUPPLIER_COLUMNS):
        op.drop_column("suppliers", column.name)
