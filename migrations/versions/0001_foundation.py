"""Foundation: app role, tenants, identities, memberships, parties, sessions, counters, RLS.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:10:18.254009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The run-time role: no superuser, no BYPASSRLS, owns nothing. Roles are cluster-wide, so
    # another database of the same cluster may have created it already.
    op.execute(
        """DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'merkato_app') THEN
                CREATE ROLE merkato_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$"""
    )
    # The owner switches to the app role at connect time when only one URL is configured.
    op.execute("GRANT merkato_app TO CURRENT_USER")
    op.create_table(
        "identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mfa_secret", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "email = lower(email)", name=op.f("ck_identities_email_lowercase")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("email", name=op.f("uq_identities_email")),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "failed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(
        op.f("ix_login_failures_email_failed_at"),
        "login_failures",
        ["email", "failed_at"],
        unique=False,
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'",
            name=op.f("ck_tenants_slug_format"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "apex_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_apex_sessions_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apex_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_apex_sessions_token_hash")),
    )
    op.create_table(
        "counters",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_counters_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_counters")),
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_customers_tenant_id_number")
        ),
    )
    op.create_table(
        "items",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("list_price", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("list_price >= 0", name=op.f("ck_items_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_items_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_items")),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_items_tenant_id_sku")),
    )
    op.create_table(
        "suppliers",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("tax_id", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_suppliers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint(
            "tenant_id", "number", name=op.f("uq_suppliers_tenant_id_number")
        ),
    )
    op.create_table(
        "memberships",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("supplier_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("roles", sa.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'staff' AND supplier_id IS NULL AND customer_id IS NULL) OR (kind = 'supplier' AND supplier_id IS NOT NULL AND customer_id IS NULL) OR (kind = 'customer' AND customer_id IS NOT NULL AND supplier_id IS NULL)",
            name=op.f("ck_memberships_party_matches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_memberships_identity_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_memberships_tenant_id_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "supplier_id"],
            ["suppliers.tenant_id", "suppliers.id"],
            name=op.f("fk_memberships_tenant_id_supplier_id_suppliers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_memberships_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_memberships")),
        sa.UniqueConstraint(
            "tenant_id",
            "identity_id",
            name=op.f("uq_memberships_tenant_id_identity_id"),
        ),
    )
    op.create_index(
        op.f("ix_memberships_identity_id"), "memberships", ["identity_id"], unique=False
    )
    op.create_table(
        "login_tickets",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_login_tickets_tenant_id_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_login_tickets_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_login_tickets")),
        sa.UniqueConstraint(
            "tenant_id",
            "token_hash",
            name=op.f("uq_login_tickets_tenant_id_token_hash"),
        ),
    )
    op.create_table(
        "web_sessions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("membership_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_web_sessions_identity_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            name=op.f("fk_web_sessions_tenant_id_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_web_sessions_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_web_sessions_tenant_id_token_hash")
        ),
    )
    op.execute("GRANT USAGE ON SCHEMA public TO merkato_app")
    for table in GLOBAL_TABLES:
        op.execute(f"GRANT {GLOBAL_TABLES[table]} ON {table} TO merkato_app")
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO merkato_app")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


# Global tables carry no tenant data; logins and the tenant directory read them before any
# tenant is known. The app role gets no DELETE where history matters.
GLOBAL_TABLES = {
    "tenants": "SELECT, INSERT, UPDATE",
    "identities": "SELECT, INSERT, UPDATE",
    "apex_sessions": "SELECT, INSERT, UPDATE, DELETE",
    "login_failures": "SELECT, INSERT, DELETE",
}
TENANT_TABLES = [
    "counters",
    "customers",
    "items",
    "suppliers",
    "memberships",
    "login_tickets",
    "web_sessions",
]

# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    # every tenant-owned table: the tenant policy, forced on the owner too
    "ALTER TABLE counters ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE counters FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON counters USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE customers ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE customers FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON customers USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE items ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE items FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON items USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE suppliers ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE suppliers FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON suppliers USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE memberships ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE memberships FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON memberships USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE login_tickets ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE login_tickets FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON login_tickets USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "ALTER TABLE web_sessions ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE web_sessions FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON web_sessions USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    # a supplier's or customer's people reach their own party's rows; an identity reads its own
    # memberships across tenants, only outside any tenant (the apex chooser)
    "CREATE POLICY party_scope ON suppliers AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY party_scope ON customers AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY party_scope ON memberships AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR ((SELECT current_setting('app.party_kind', true)) = 'supplier' AND supplier_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)) OR ((SELECT current_setting('app.party_kind', true)) = 'customer' AND customer_id = (SELECT NULLIF(current_setting('app.party_id', true), '')::uuid)))",
    "CREATE POLICY own_rows ON memberships FOR SELECT USING ((SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) IS NULL AND identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid))",
    # document numbers are staff business; sessions and tickets are the login code's alone
    "CREATE POLICY party_scope ON counters AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY system_only ON web_sessions AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) = 'system') WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system')",
    "CREATE POLICY system_only ON login_tickets AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) = 'system') WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system')",
)


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("login_tickets")
    op.drop_index(op.f("ix_memberships_identity_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("suppliers")
    op.drop_table("items")
    op.drop_table("customers")
    op.drop_table("counters")
    op.drop_table("apex_sessions")
    op.drop_table("tenants")
    op.drop_index(
        op.f("ix_login_failures_email_failed_at"), table_name="login_failures"
    )
    op.drop_table("login_failures")
    op.drop_table("identities")
    op.execute("REVOKE USAGE ON SCHEMA public FROM merkato_app")
