"""Supplier qualification: categories, document requirements, supplier documents, qualifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def _references(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "supplier_categories",
        *_keys("supplier_categories"),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _references("supplier_categories", "parent_id", "supplier_categories"),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_supplier_categories_tenant_id_code")),
    )
    op.create_table(
        "document_requirements",
        *_keys("document_requirements"),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("document_type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("expires", sa.Boolean(), nullable=False),
        _references("document_requirements", "category_id", "supplier_categories"),
        sa.UniqueConstraint(
            "tenant_id",
            "category_id",
            "document_type",
            name=op.f("uq_document_requirements_tenant_id_category_id_document_type"),
        ),
    )
    op.create_table(
        "supplier_documents",
        *_keys("supplier_documents"),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("document_type", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_30_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_7_at", sa.DateTime(timezone=True), nullable=True),
        _references("supplier_documents", "supplier_id", "suppliers"),
        sa.UniqueConstraint(
            "tenant_id",
            "supplier_id",
            "document_type",
            "version",
            name=op.f("uq_supplier_documents_tenant_id_supplier_id_document_type_version"),
        ),
    )
    op.create_table(
        "supplier_qualifications",
        *_keys("supplier_qualifications"),
        sa.Column("supplier_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        _references("supplier_qualifications", "supplier_id", "suppliers"),
        _references("supplier_qualifications", "category_id", "supplier_categories"),
        sa.UniqueConstraint(
            "tenant_id",
            "supplier_id",
            "category_id",
            name=op.f("uq_supplier_qualifications_tenant_id_supplier_id_category_id"),
        ),
    )
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO merkato_app")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


TABLES = ("supplier_categories", "document_requirements", "supplier_documents", "supplier_qualifications")

# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    # every new table: the tenant policy, forced on the owner too
    "ALTER TABLE supplier_categories ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_categories FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_categories USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE document_requirements ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE document_requirements FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON document_requirements USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE supplier_documents ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_documents FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_documents USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE supplier_qualifications ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE supplier_qualifications FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON supplier_qualifications USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    # the tree and its checklists: every party of the tenant reads them, only staff change them
    "CREATE POLICY staff_insert ON supplier_categories AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON supplier_categories AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON supplier_categories AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON document_requirements AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON document_requirements AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON document_requirements AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    # a supplier's people reach their own supplier's documents and qualifications only; they may
    # add documents, but only staff review them or decide a qualification
    "CREATE POLICY party_scope ON supplier_documents AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY party_scope ON supplier_qualifications AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY staff_update ON supplier_documents AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON supplier_documents AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON supplier_qualifications AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON supplier_qualifications AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON supplier_qualifications AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
