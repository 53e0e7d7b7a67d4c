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


# Literal SQL, frozen with this revision: a later change to the live code must not change
# what an old revision does.
WALLS = (
    # the trigger function: each argument names a column staff decide ("column=value" also the value
    # a party's new row starts with); outside the staff and system contexts an UPDATE may not change
    # them and an INSERT may not set them to anything but their start
    """CREATE FUNCTION keep_staff_decisions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb;
    spec text;
    name text;
    start text;
BEGIN
    IF coalesce((SELECT current_setting('app.party_kind', true)), '') IN ('staff', 'system') THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
    END IF;
    FOREACH spec IN ARRAY TG_ARGV LOOP
        name := split_part(spec, '=', 1);
        IF NOT new_row ? name THEN
            RAISE EXCEPTION 'keep_staff_decisions: % has no column %', TG_TABLE_NAME, name;
        END IF;
        start := CASE WHEN strpos(spec, '=') > 0 THEN substr(spec, strpos(spec, '=') + 1) END;
        IF (TG_OP = 'UPDATE' AND new_row -> name IS DISTINCT FROM old_row -> name)
           OR (TG_OP = 'INSERT' AND new_row ->> name IS DISTINCT FROM start) THEN
            RAISE EXCEPTION 'permission denied: only staff decide %.%', TG_TABLE_NAME, name
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$""",
    # 0002 lets a party add audit events naming its own person; now also only as its own kind
    "CREATE POLICY own_kind ON audit_events AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system') OR actor_kind = (SELECT current_setting('app.party_kind', true)))",
    # the commands staff keep, table by table (STAFF_WRITES)
    "CREATE POLICY staff_insert ON items AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON items AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON items AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON memberships AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON memberships AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON memberships AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON documents AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON documents AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON documents AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON supplier_registrations AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_update ON supplier_registrations AS RESTRICTIVE FOR UPDATE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')) WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON suppliers AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON suppliers AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON customers AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON customers AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_insert ON notifications AS RESTRICTIVE FOR INSERT WITH CHECK ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    "CREATE POLICY staff_delete ON notifications AS RESTRICTIVE FOR DELETE USING ((SELECT current_setting('app.party_kind', true)) IN ('staff', 'system'))",
    # the columns staff decide, table by table (STAFF_DECIDED)
    "CREATE TRIGGER staff_decisions BEFORE UPDATE ON suppliers FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('number', 'name', 'country', 'tax_id', 'currency', 'status', 'status_reason', 'risk_tier', 'risk_reason', 'terms_accepted_at', 'terms_version', 'created_at')",
    "CREATE TRIGGER staff_decisions BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('number', 'name', 'country', 'currency', 'status', 'created_at')",
    "CREATE TRIGGER staff_decisions BEFORE UPDATE ON notifications FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('membership_id', 'supplier_id', 'customer_id', 'title', 'body', 'link', 'created_at')",
    "CREATE TRIGGER staff_decisions BEFORE INSERT ON supplier_documents FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('status=pending_review', 'reviewed_by', 'reviewed_at', 'reminded_30_at', 'reminded_7_at')",
    "CREATE TRIGGER staff_decisions BEFORE INSERT ON supplier_bank_accounts FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('status=pending')",
    "CREATE TRIGGER staff_decisions BEFORE INSERT ON supplier_change_requests FOR EACH ROW EXECUTE FUNCTION keep_staff_decisions('status=pending', 'decided_by', 'decided_at', 'reason')",
)


def upgrade() -> None:
    for statement in WALLS:
        op.execute(statement)


def downgrade() -> None:
    for table, _, _ in STAFF_DECIDED:
        op.execute(f"DROP TRIGGER staff_decisions ON {table}")
    for table, commands in STAFF_WRITES:
        for command in commands:
            op.execute(f"DROP POLICY staff_{command.lower()} ON {table}")
    op.execute("DROP FUNCTION keep_staff_decisions()")
    op.execute("DROP POLICY own_kind ON audit_events")
