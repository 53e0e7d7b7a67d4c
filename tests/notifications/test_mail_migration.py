"""Upgrading masks the one-time links earlier versions left readable in outgoing_mail — a `token=`
parameter in kept mail, a supplier invitation's secret in the path — in every tenant's rows, also
when the owner running the migration is no superuser (row-level security is forced on the table,
for its owner too), and leaves that security forced. The database is built to the revision before
(0007) as the test server's superuser; 0008 then runs as a role that owns outgoing_mail only."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from backend.kit.db import to_async_url
from backend.kit.ids import new_id
from backend.migrate import upgrade
from tests.fixtures.database import fresh_database

TOKEN = "Old-kept_token-0123456789abcdefghijklmnopqrstu"
INVITATION = "Old_invitation-secret-0123456789abcdefghijklm"
TEXT = (
    f"Choose a password: http://acme.example.com/account/set-password?token={TOKEN}\n"
    f"Register: http://acme.example.com/supplier/register/invitation/{INVITATION}\n"
    "Log in: http://acme.example.com/login\n"
)
HTML = (
    f'<a href="http://acme.example.com/account/set-password?token={TOKEN}">Choose</a>'
    f'<a href="http://acme.example.com/supplier/register/invitation/{INVITATION}">Register</a>'
)


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(to_async_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_upgrading_masks_the_links_earlier_versions_stored(server_url: str) -> None:
    role = f"merkato_mail_owner_{secrets.token_hex(4)}"
    tenants = [new_id(), new_id()]
    async with _engine(server_url) as cluster, cluster.connect() as connection:
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
    try:
        async with fresh_database(server_url, "merkato_migration", revision="0007") as url, _engine(url) as owner:
            async with owner.connect() as connection:
                for n, tenant_id in enumerate(tenants):
                    await connection.execute(
                        text(
                            "INSERT INTO tenants (id, slug, name, status, plan, locale, currency, timezone)"
                            " VALUES (:id, :slug, 'Old', 'active', 'starter', 'en', 'USD', 'UTC')"
                        ),
                        {"id": tenant_id, "slug": f"old-{n}-{secrets.token_hex(3)}"},
                    )
                    await connection.execute(
                        text(
                            "INSERT INTO outgoing_mail (tenant_id, id, to_address, subject, text_body, html_body,"
                            " template, locale, status) VALUES (:tenant, :id, 'ada@example.test', 'Old mail',"
                            " :text, :html, 'invitation', 'en', 'kept')"
                        ),
                        {"tenant": tenant_id, "id": new_id(), "text": TEXT, "html": HTML},
                    )
                # the migration's owner is no superuser: row-level security applies to it as forced
                await connection.execute(text(f'ALTER TABLE outgoing_mail OWNER TO "{role}"'))
                await connection.execute(text(f'GRANT SELECT, UPDATE ON alembic_version TO "{role}"'))
            as_role = make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
            await asyncio.to_thread(upgrade, as_role, "0008")

            async with owner.connect() as connection:
                rows = (await connection.execute(text("SELECT text_body, html_body FROM outgoing_mail"))).all()
                forced = await connection.scalar(
                    text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'outgoing_mail'")
                )
            assert len(rows) == len(tenants)
            for text_body, html_body in rows:
                for body in (text_body, html_body):
                    assert TOKEN not in body
                    assert INVITATION not in body
                assert "set-password?token=…" in text_body
                assert "/supplier/register/invitation/…" in text_body
                assert "http://acme.example.com/login" in text_body  # what was no secret stays
                assert 'href="http://acme.example.com/supplier/register/invitation/…"' in html_body
            assert forced is True
    finally:
        async with _engine(server_url) as cluster, cluster.connect() as connection:
            await connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
