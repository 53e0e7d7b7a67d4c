"""Accounts you can trust across workspaces: credentials apart from identities, a credential
epoch per identity and an access epoch per membership, one-time links addressed to a mailbox,
login failures per client address, and row-level security on every global table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00

Why each piece:
- `credentials` holds password hashes apart from `identities`, readable only in the named login
  step for the e-mail being logged in; a tenant's staff can list their members' names and e-mail
  addresses without any path to a hash. A password may exist only for a verified address (the
  insert policy), so a login created by a public form has no usable password anywhere.
- `identities.credential_epoch` and `memberships.access_epoch` are bumped by triggers (the app
  cannot forget, lower or skip them): every session, login ticket and API token remembers the
  epochs it was made with and ends on its next request once they moved, in every workspace.
- `account_links` replaces the tenant-owned account_tokens: a link proves a mailbox, which is
  global; `workspace_id` says where it leads (None: the apex).
- Passwords chosen by someone who never proved the address are not carried over: their owner
  recovers the login through "forgot password", which goes to the mailbox.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL_TABLES = ("identities", "credentials", "apex_sessions", "account_links", "login_failures", "tenants")


def upgrade() -> None:
    # --- credentials (data first: once FORCE RLS is on, a non-superuser owner sees no rows) ---
    op.create_table(
        "credentials",
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identities.id"], name=op.f("fk_credentials_identity_id_identities"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_credentials")),
    )
    op.add_column("identities", sa.Column("credential_epoch", sa.Integer(), server_default="0", nullable=False))
    op.add_column("identities", sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "INSERT INTO credentials (identity_id, password_hash) SELECT id, password_hash FROM identities"
        " WHERE password_hash IS NOT NULL AND verified_at IS NOT NULL"
    )
    op.execute("UPDATE identities SET password_set_at = now() WHERE id IN (SELECT identity_id FROM credentials)")
    op.drop_column("identities", "password_hash")
    op.drop_column("identities", "mfa_secret")  # never used; a second factor will live with credentials

    # --- epochs ---------------------------------------------------------------------------------
    op.add_column("memberships", sa.Column("access_epoch", sa.Integer(), server_default="0", nullable=False))
    for table in ("web_sessions", "login_tickets"):
        op.add_column(table, sa.Column("identity_epoch", sa.Integer(), server_default="0", nullable=False))
        op.add_column(table, sa.Column("access_epoch", sa.Integer(), server_default="0", nullable=False))
    op.add_column("apex_sessions", sa.Column("identity_epoch", sa.Integer(), server_default="0", nullable=False))
    # a ticket is redeemed only by the browser whose binding cookie hashes to this
    op.add_column("login_tickets", sa.Column("binding_hash", sa.LargeBinary(length=32), nullable=True))
    op.execute(
        """CREATE FUNCTION merkato_identity_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- the epoch is the database's to keep: whatever the statement wrote, it only moves up,
            -- and it moves whenever a password is set (credentials' trigger stamps password_set_at)
            NEW.credential_epoch := OLD.credential_epoch
                + CASE WHEN NEW.password_set_at IS DISTINCT FROM OLD.password_set_at THEN 1 ELSE 0 END;
            RETURN NEW;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER credential_epoch BEFORE UPDATE ON identities"
        " FOR EACH ROW EXECUTE FUNCTION merkato_identity_epoch()"
    )
    op.execute(
        """CREATE FUNCTION merkato_password_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- runs as the caller: the identities update policy (the identity itself) applies
            UPDATE identities SET password_set_at = clock_timestamp() WHERE id = NEW.identity_id;
            RETURN NULL;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER password_changed AFTER INSERT OR UPDATE ON credentials"
        " FOR EACH ROW EXECUTE FUNCTION merkato_password_changed()"
    )
    op.execute(
        """CREATE FUNCTION merkato_access_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.access_epoch := OLD.access_epoch
                + CASE WHEN (NEW.roles, NEW.active, NEW.kind, NEW.supplier_id, NEW.customer_id, NEW.identity_id)
                            IS DISTINCT FROM
                            (OLD.roles, OLD.active, OLD.kind, OLD.supplier_id, OLD.customer_id, OLD.identity_id)
                       THEN 1 ELSE 0 END;
            RETURN NEW;
        END $$"""
    )
    op.execute(
        "CREATE TRIGGER access_epoch BEFORE UPDATE ON memberships FOR EACH ROW EXECUTE FUNCTION merkato_access_epoch()"
    )
    # An API token is checked on its request's first round trip (tenants/isolation.begin_sql):
    # not SECURITY DEFINER, so RLS shows it only the caller's own membership and identity.
    op.execute(
        """CREATE FUNCTION merkato_require_access(membership uuid, identity_epoch integer, access_epoch integer)
        RETURNS void LANGUAGE plpgsql STABLE AS $$
        BEGIN
            IF NOT EXISTS (
                SELECT FROM memberships m JOIN identities i ON i.id = m.identity_id
                WHERE m.id = membership AND m.tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) AND m.active
                  AND m.access_epoch = merkato_require_access.access_epoch
                  AND i.credential_epoch = merkato_require_access.identity_epoch
            ) THEN
                RAISE EXCEPTION 'this login changed since the token was issued'
                    USING ERRCODE = 'invalid_authorization_specification';
            END IF;
        END $$"""
    )
    op.execute("GRANT EXECUTE ON FUNCTION merkato_require_access(uuid, integer, integer) TO merkato_app")

    # --- one-time links, addressed to a mailbox -------------------------------------------------
    op.drop_table("account_tokens")
    op.create_table(
        "account_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_account_links_email_lowercase")),
        sa.ForeignKeyConstraint(["workspace_id"], ["tenants.id"], name=op.f("fk_account_links_workspace_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_links_token_hash")),
    )
    op.create_index(op.f("ix_account_links_email_purpose"), "account_links", ["email", "purpose"])

    # --- login failures: per client address, and per e-mail where it names a member ---------------
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_email_failed_at"), "login_failures", ["email", "failed_at"])
    op.create_index(
        op.f("ix_login_failures_client_address_failed_at"), "login_failures", ["client_address", "failed_at"]
    )

    # --- grants: what the app role may do at all ------------------------------------------------
    op.execute("GRANT SELECT, INSERT, UPDATE ON credentials TO merkato_app")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON account_links TO merkato_app")
    op.execute("GRANT SELECT, INSERT, DELETE ON login_failures TO merkato_app")

    # --- row-level security on every global table -----------------------------------------------
    for table in GLOBAL_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for statement in POLICIES:
        op.execute(statement)


# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
POLICIES = [
    # identities: anyone may create an unproven one (it holds no credential and proves nothing);
    # only the identity itself changes its row. Who may see an identity: itself, the login step for
    # its e-mail, the login step holding one of its apex sessions, and whoever may see one of its
    # memberships (memberships' own policies: a tenant's staff see their members, a party's people
    # their colleagues, an identity on the apex its own memberships).
    "CREATE POLICY visible ON identities FOR SELECT USING (id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid) OR email = (SELECT NULLIF(current_setting('app.lookup_email', true), '')) OR EXISTS (SELECT FROM memberships m WHERE m.identity_id = identities.id) OR EXISTS (SELECT FROM apex_sessions s WHERE s.identity_id = identities.id))",
    "CREATE POLICY unproven ON identities FOR INSERT WITH CHECK (verified_at IS NULL)",
    "CREATE POLICY itself ON identities FOR UPDATE USING (id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid)) WITH CHECK (id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid))",
    # credentials: read by the login step only (never by a request acting for a user, not even its
    # own hash); written only as the identity, once its address is verified
    "CREATE POLICY login_step ON credentials FOR SELECT USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid) OR EXISTS (SELECT FROM identities i WHERE i.id = credentials.identity_id AND i.email = (SELECT NULLIF(current_setting('app.lookup_email', true), '')))))",
    "CREATE POLICY own_verified ON credentials FOR INSERT WITH CHECK (identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid) AND EXISTS (SELECT FROM identities i WHERE i.id = credentials.identity_id AND i.verified_at IS NOT NULL))",
    "CREATE POLICY own_verified_update ON credentials FOR UPDATE USING (identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid)) WITH CHECK (identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid) AND EXISTS (SELECT FROM identities i WHERE i.id = credentials.identity_id AND i.verified_at IS NOT NULL))",
    # apex sessions: the login code, for the token presented or the identity it acts for
    "CREATE POLICY login_step ON apex_sessions USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (token_hash = decode((SELECT NULLIF(current_setting('app.lookup_token', true), '')), 'hex') OR identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system' AND identity_id = (SELECT NULLIF(current_setting('app.identity_id', true), '')::uuid))",
    # one-time links: the link presented, or the mailbox they are addressed to; a new one only
    # for the mailbox named
    "CREATE POLICY link_read ON account_links FOR SELECT USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (token_hash = decode((SELECT NULLIF(current_setting('app.lookup_token', true), '')), 'hex') OR email = (SELECT NULLIF(current_setting('app.lookup_email', true), ''))))",
    "CREATE POLICY link_use ON account_links FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (token_hash = decode((SELECT NULLIF(current_setting('app.lookup_token', true), '')), 'hex') OR email = (SELECT NULLIF(current_setting('app.lookup_email', true), '')))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system' AND (token_hash = decode((SELECT NULLIF(current_setting('app.lookup_token', true), '')), 'hex') OR email = (SELECT NULLIF(current_setting('app.lookup_email', true), ''))))",
    "CREATE POLICY link_purge ON account_links FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (token_hash = decode((SELECT NULLIF(current_setting('app.lookup_token', true), '')), 'hex') OR email = (SELECT NULLIF(current_setting('app.lookup_email', true), ''))))",
    "CREATE POLICY link_make ON account_links FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system' AND email = (SELECT NULLIF(current_setting('app.lookup_email', true), '')))",
    # login failures: the e-mail being logged in and the client address it comes from
    "CREATE POLICY login_step ON login_failures USING ((SELECT current_setting('app.party_kind', true)) = 'system' AND (email = (SELECT NULLIF(current_setting('app.lookup_email', true), '')) OR client_address = (SELECT NULLIF(current_setting('app.lookup_client', true), '')))) WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system' AND client_address = (SELECT NULLIF(current_setting('app.lookup_client', true), '')))",
    # tenants: the request's own, the host being resolved, the Stripe customer a webhook names,
    # and on the apex the tenants of the identity's own memberships
    "CREATE POLICY visible ON tenants FOR SELECT USING (id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) OR slug = (SELECT NULLIF(current_setting('app.lookup_slug', true), '')) OR stripe_customer_id = (SELECT NULLIF(current_setting('app.lookup_customer', true), '')) OR EXISTS (SELECT FROM memberships m WHERE m.tenant_id = tenants.id))",
    "CREATE POLICY founding ON tenants FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system' AND id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY own_tenant ON tenants FOR UPDATE USING (id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid) AND (SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK (id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    # the relay schedules periodic jobs for every active tenant; the operator (the owner running
    # migrations, `merkato tenants list`) sees them all
    "CREATE POLICY relay_sweep ON tenants FOR SELECT TO merkato_relay USING (true)",
    "CREATE POLICY operator ON tenants FOR SELECT TO CURRENT_USER USING (true)",
]


def downgrade() -> None:
    for table in GLOBAL_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(
            f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT polname FROM pg_policy WHERE polrelid = '{table}'::regclass"
            f" LOOP EXECUTE format('DROP POLICY %I ON {table}', p.polname); END LOOP; END $$"
        )
    op.drop_table("login_failures")
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_email_failed_at"), "login_failures", ["email", "failed_at"])
    op.execute("GRANT SELECT, INSERT, DELETE ON login_failures TO merkato_app")
    op.drop_index(op.f("ix_account_links_email_purpose"), table_name="account_links")
    op.drop_table("account_links")
    op.execute("DROP FUNCTION merkato_require_access(uuid, integer, integer)")
    op.execute("DROP TRIGGER access_epoch ON memberships")
    op.execute("DROP FUNCTION merkato_access_epoch()")
    op.execute("DROP TRIGGER password_changed ON credentials")
    op.execute("DROP FUNCTION merkato_password_changed()")
    op.execute("DROP TRIGGER credential_epoch ON identities")
    op.execute("DROP FUNCTION merkato_identity_epoch()")
    op.drop_column("login_tickets", "binding_hash")
    op.drop_column("apex_sessions", "identity_epoch")
    for table in ("web_sessions", "login_tickets"):
        op.drop_column(table, "access_epoch")
        op.drop_column(table, "identity_epoch")
    op.drop_column("memberships", "access_epoch")
    op.add_column("identities", sa.Column("mfa_secret", sa.String(length=64), nullable=True))
    op.add_column("identities", sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE identities i SET password_hash = c.password_hash FROM credentials c WHERE c.identity_id = i.id"
    )
    op.drop_column("identities", "password_set_at")
    op.drop_column("identities", "credential_epoch")
    op.drop_table("credentials")
    # account_tokens comes back empty: its links were one-time and short-lived anyway
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
            ["identity_id"], ["identities.id"], name=op.f("fk_account_tokens_identity_id_identities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_account_tokens_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("tenant_id", "token_hash", name=op.f("uq_account_tokens_tenant_id_token_hash")),
    )
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON account_tokens TO merkato_app")
    for statement in ACCOUNT_TOKENS_ROW_LEVEL_SECURITY:
        op.execute(statement)


# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ACCOUNT_TOKENS_ROW_LEVEL_SECURITY = (
    # account_tokens as 0002 made it
    "ALTER TABLE account_tokens ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE account_tokens FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON account_tokens USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY system_only ON account_tokens AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) = 'system') WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system')",
)
