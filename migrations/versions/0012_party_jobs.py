"""Which work a party's people may ask for.

Since 0010 a supplier's or customer's person adds outbox rows in their own context; the job then
runs as platform code, with the arguments the row carries. So that an app-level bug in a party's
request cannot ask for any job at all (a Stripe event replayed, a mail sent, another tenant's
work), a party may add only the jobs its own steps need: the link an admin's invitation of a
colleague sends and the notice of new access, the finance notice of a change it proposes, the
notice of a registration it submits, the standing of a category it adds, and the render of a
document it asks for about itself. A new party step that needs another job adds it here, in a
revision of its own.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAFF = "(SELECT current_setting('app.party_kind', true)) IN ('staff', 'system')"
PARTY_JOBS = (
    "auth.send_link",
    "auth.notify_access",
    "suppliers.notify_change",
    "suppliers.notify_registration",
    "suppliers.recompute_standing",
    "documents.render",
)


def upgrade() -> None:
    jobs = ", ".join(f"'{name}'" for name in PARTY_JOBS)
    op.execute(f"CREATE POLICY party_jobs ON outbox AS RESTRICTIVE FOR INSERT WITH CHECK ({STAFF} OR actor IN ({jobs}))")


def downgrade() -> None:
    op.execute("DROP POLICY party_jobs ON outbox")
