"""Supplier qualification: categories, document requirements, supplier documents, qualifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from backend.kit.db import APP_ROLE
from tenants.isolation import party_rls, staff_writes_rls, tenant_rls

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
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
        for statement in tenant_rls(table):
            op.execute(statement)
    # the tree and its checklists: every party of the tenant reads them, only staff change them
    for statement in staff_writes_rls("supplier_categories") + staff_writes_rls("document_requirements"):
        op.execute(statement)
    # a supplier's people reach their own supplier's documents and qualifications only; they may
    # add documents, but only staff review them or decide a qualification
    for table in ("supplier_documents", "supplier_qualifications"):
        for statement in party_rls(table, supplier_column="supplier_id", customer_column=None):
            op.execute(statement)
    for statement in staff_writes_rls("supplier_documents", ("UPDATE", "DELETE")) + staff_writes_rls(
        "supplier_qualifications"
    ):
        op.execute(statement)


TABLES = ("supplier_categories", "document_requirements", "supplier_documents", "supplier_qualifications")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
