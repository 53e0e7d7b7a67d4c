"""Workflow spine: outbox and relay role, audit trail, outgoing mail, notifications,
account tokens, documents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:44:37.554533
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The relay: sees the outbox of every tenant (and the tenant list, for periodic jobs), nothing else.
    op.execute(
        """DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'merkato_relay') THEN
                CREATE ROLE merkato_relay NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$"""
    )
    op.execute("GRANT merkato_relay TO CURRENT_USER")
    op.create_table(
        "account_tokens",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_account_tokens_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_account_tokens_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("tenant_id", "token_hash", name=op.f("uq_account_tokens_tenant_id_token_hash")),
    )
    op.create_table(
        "audit_events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=True),
        sa.Column("membership_id", sa.Uuid(), nullable=True),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_name", sa.String(length=320), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.Uuid(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_events_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_tenant_id_object_type_object_id"),
        "audit_events",
        ["tenant_id", "object_type", "object_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_audit_events_tenant_id_occurred_at"), "audit_events", ["tenant_id", "occurred_at"], unique=False
    )
    op.create_table(
        "documents",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_documents_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_documents")),
    )
    op.create_index(
        op.f("ix_documents_tenant_id_object_type_object_id"),
        "documents",
        ["tenant_id", "object_type", "object_id"],
        unique=False,
    )
    op.create_table(
        "outbox",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("run_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_outbox_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_outbox_tenant_id_key")),
    )
    op.create_index("ix_outbox_due", "outbox", ["run_at"], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "outgoing_mail",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("template", sa.String(length=80), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_outgoing_mail_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_outgoing_mail")),
    )
    op.create_table(
        "notifications",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_notifications_tenant_id_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_tenant_id_membership_id_read_at"),
        "notifications",
        ["tenant_id", "membership_id", "read_at"],
        unique=False,
    )
    op.execute("GRANT USAGE ON SCHEMA public TO merkato_relay")
    for table, privileges in APP_GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO merkato_app")
    op.execute("GRANT SELECT, INSERT, UPDATE ON outbox TO merkato_relay")
    op.execute("GRANT SELECT ON tenants TO merkato_relay")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


# The audit trail is append-only for the app: no UPDATE, no DELETE. Jobs are never deleted.
APP_GRANTS = {
    "outbox": "SELECT, INSERT, UPDATE",
    "audit_events": "SELECT, INSERT",
    "outgoing_mail": "SELECT, INSERT, UPDATE",
    "notifications": "SELECT, INSERT, UPDATE, DELETE",
    "account_tokens": "SELECT, INSERT, UPDATE, DELETE",
    "documents": "SELECT, INSERT, UPDATE, DELETE",
}

# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    # every tenant-owned table: the tenant policy, forced on the owner too
    "ALTER TABLE outbox ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE outbox FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON outbox USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE audit_events FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON audit_events USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE outgoing_mail ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE outgoing_mail FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON outgoing_mail USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE notifications ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE notifications FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON notifications USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON account_tokens USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE documents ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE documents FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON documents USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    # the relay sweeps every tenant's outbox; the audit trail is read by staff, added to by anyone
    # acting as themselves
    "CREATE POLICY relay_sweep ON outbox TO merkato_relay USING (true) WITH CHECK (true)",
    "CREATE POLICY party_scope ON audit_events AS RESTRICTIVE FOR SELECT USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY own_actions ON audit_events AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid))",
    # staff business only: the mail log, the job list
    "CREATE POLICY party_scope ON outgoing_mail AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY party_scope ON outbox AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    # a supplier's or customer's people may see their own party's rows
    "CREATE POLICY party_scope ON notifications AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY party_scope ON documents AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY system_only ON account_tokens AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) = 'system') WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system')",
)


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_tenant_id_membership_id_read_at"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("outgoing_mail")
    op.drop_index("ix_outbox_due", table_name="outbox", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("outbox")
    op.drop_index(op.f("ix_documents_tenant_id_object_type_object_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_audit_events_tenant_id_occurred_at"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_tenant_id_object_type_object_id"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("account_tokens")
    op.execute("REVOKE USAGE ON SCHEMA public FROM merkato_relay")
