"""Outgoing mail keeps its one-time secrets sealed: a column for the real message until delivery,
and the secrets that earlier versions left readable in stored bodies masked.

Earlier versions stored every mail whole and masked only `token=` parameters once a mail was
sent, so kept mail (no SMTP server) and supplier invitations (secret in the path) showed live
links to workspace admins. Those links are masked here, in every stored mail: a mail still queued
at upgrade time goes out with its link masked too (its recipient asks for a new one), which is
better than leaving any live link in a table admins read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The secrets of one-time links (secrets.token_urlsafe), where the earlier mails carried them.
SECRET_PATTERNS = (r"(token=)[A-Za-z0-9_-]+", r"(/supplier/register/invitation/)[A-Za-z0-9_-]+")
MASK = "…"


def _masked(column: str) -> str:
    expression = column
    for pattern in SECRET_PATTERNS:
        expression = f"regexp_replace({expression}, '{pattern}', '\\1{MASK}', 'g')"
    return expression


def upgrade() -> None:
    op.add_column("outgoing_mail", sa.Column("sealed_message", sa.Text(), nullable=True))
    # Row-level security is forced on this table, for its owner too: lifted for this one statement
    # (inside the migration's transaction) so every tenant's rows are masked, then forced again.
    op.execute("ALTER TABLE outgoing_mail NO FORCE ROW LEVEL SECURITY")
    op.execute(f"UPDATE outgoing_mail SET text_body = {_masked('text_body')}, html_body = {_masked('html_body')}")
    op.execute("ALTER TABLE outgoing_mail FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_column("outgoing_mail", "sealed_message")
