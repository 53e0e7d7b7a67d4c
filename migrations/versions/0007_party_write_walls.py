"""Party write walls: what a supplier's or customer's people may write, even in their own party.

Until now the party policies let a party's people write whatever they could read: their own
supplier's status and risk tier, their memberships' roles, the generated PDFs' storage keys, the
item catalog. Reviewed table by table, a party may now only
- edit its own record's contact and address fields (suppliers, customers), never the number,
  legal name, tax id, currency, status, risk tier or accepted terms staff keep;
- add contacts (and edit or remove them), documents waiting for review, bank accounts and change
  requests waiting for a decision, and audit events naming itself (0002) as the kind it is;
- mark its own notifications read.
Everything else a party may read (items, memberships, generated documents, registrations, the
category tree) only staff and platform code write.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

from alembic import op

from tenants.isolation import (
    STAFF_DECISIONS,
    own_kind_rls,
    staff_decided_columns,
    staff_decisions_function,
    staff_writes_rls,
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables a party reads, or reaches as its own, but never writes: (table, commands staff keep).
# supplier_registrations has no DELETE for the app role at all (0006).
STAFF_WRITES = (
    ("items", ("INSERT", "UPDATE", "DELETE")),
    ("memberships", ("INSERT", "UPDATE", "DELETE")),
    ("documents", ("INSERT", "UPDATE", "DELETE")),
    ("supplier_registrations", ("INSERT", "UPDATE")),
    # a party edits its own record (columns below) but never creates or removes one
    ("suppliers", ("INSERT", "DELETE")),
    ("customers", ("INSERT", "DELETE")),
    ("notifications", ("INSERT", "DELETE")),
)

# Columns only staff decide, on the rows a party may edit (UPDATE) or add (INSERT, where the
# new row must start as given: "status=pending", or empty for a bare name).
STAFF_DECIDED = (
    (
        "suppliers",
        ("UPDATE",),
        (
            "number",
            "name",
            "country",
            "tax_id",
            "currency",
            "status",
            "status_reason",
            "risk_tier",
            "risk_reason",
            "terms_accepted_at",
            "terms_version",
            "created_at",
        ),
    ),
    ("customers", ("UPDATE",), ("number", "name", "country", "currency", "status", "created_at")),
    (
        "notifications",
        ("UPDATE",),
        ("membership_id", "supplier_id", "customer_id", "title", "body", "link", "created_at"),
    ),
    (
        "supplier_documents",
        ("INSERT",),
        ("status=pending_review", "reviewed_by", "reviewed_at", "reminded_30_at", "reminded_7_at"),
    ),
    ("supplier_bank_accounts", ("INSERT",), ("status=pending",)),
    ("supplier_change_requests", ("INSERT",), ("status=pending", "decided_by", "decided_at", "reason")),
)


def upgrade() -> None:
    statements = staff_decisions_function()
    # 0002 lets a party add audit events naming its own person; now also only as its own kind
    statements += own_kind_rls("audit_events")
    for table, commands in STAFF_WRITES:
        statements += staff_writes_rls(table, commands)
    for table, on, columns in STAFF_DECIDED:
        statements += staff_decided_columns(table, columns, on=on)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    for table, _, _ in STAFF_DECIDED:
        op.execute(f"DROP TRIGGER staff_decisions ON {table}")
    for table, commands in STAFF_WRITES:
        for command in commands:
            op.execute(f"DROP POLICY staff_{command.lower()} ON {table}")
    op.execute(f"DROP FUNCTION {STAFF_DECISIONS}()")
    op.execute("DROP POLICY own_kind ON audit_events")
