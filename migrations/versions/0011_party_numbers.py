"""A party's people may take numbers for what they number themselves.

Human numbers come from the per-tenant `counters` table. Until now only staff and platform code
could take one; the documents a supplier or customer will create in their own context (ship
notices, invoices, tickets) need theirs. A counter whose key starts with `party.` is one such a
party may take (read, add, advance), because its value is no more than the number each of those
documents shows anyway; every other counter (how many suppliers, customers or orders a tenant
has) stays staff's, unread by any party. Nobody of a party removes a counter.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KIND = "(SELECT current_setting('app.party_kind', true))"
STAFF = f"{KIND} IN ('staff', 'system')"
PARTY_NUMBER = f"({KIND} IN ('supplier', 'customer') AND key LIKE 'party.%')"


def upgrade() -> None:
    op.execute("DROP POLICY party_scope ON counters")
    op.execute(
        f"CREATE POLICY party_scope ON counters AS RESTRICTIVE USING ({STAFF} OR {PARTY_NUMBER})"
        f" WITH CHECK ({STAFF} OR {PARTY_NUMBER})"
    )
    op.execute(f"CREATE POLICY staff_delete ON counters AS RESTRICTIVE FOR DELETE USING ({STAFF})")


def downgrade() -> None:
    op.execute("DROP POLICY staff_delete ON counters")
    op.execute("DROP POLICY party_scope ON counters")
    op.execute(f"CREATE POLICY party_scope ON counters AS RESTRICTIVE USING ({STAFF}) WITH CHECK ({STAFF})")
