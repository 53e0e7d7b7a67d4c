"""Billing: the subscription's state on the tenant, and the Stripe webhook inbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TENANT_COLUMNS = (
    sa.Column("billing_interval", sa.String(length=10), nullable=True),
    sa.Column("stripe_customer_id", sa.String(length=100), nullable=True),
    sa.Column("stripe_subscription_id", sa.String(length=100), nullable=True),
    sa.Column("subscription_status", sa.String(length=30), nullable=True),
    sa.Column("past_due_since", sa.DateTime(timezone=True), nullable=True),
    sa.Column("trial_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("billing_version", sa.Integer(), server_default="0", nullable=False),
)


def upgrade() -> None:
    for column in _TENANT_COLUMNS:
        op.add_column("tenants", column)
    op.create_unique_constraint(op.f("uq_tenants_stripe_customer_id"), "tenants", ["stripe_customer_id"])
    op.create_table(
        "stripe_events",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_stripe_events_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("tenant_id", "event_id", name=op.f("uq_stripe_events_tenant_id_event_id")),
    )
    # Written by the webhook and read by the billing worker, both platform code: no user's
    # request (staff or party) ever touches the inbox.
    op.execute("GRANT SELECT, INSERT, UPDATE ON stripe_events TO merkato_app")
    for statement in ROW_LEVEL_SECURITY:
        op.execute(statement)


# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
ROW_LEVEL_SECURITY = (
    "ALTER TABLE stripe_events ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE stripe_events FORCE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_isolation ON stripe_events USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)) WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))",
    "CREATE POLICY system_only ON stripe_events AS RESTRICTIVE USING ((SELECT current_setting('app.party_kind', true)) = 'system') WITH CHECK ((SELECT current_setting('app.party_kind', true)) = 'system')",
)


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_constraint(op.f("uq_tenants_stripe_customer_id"), "tenants", type_="unique")
    for column in reversed(_TENANT_COLUMNS):
        op.drop_column("tenants", column.name)
