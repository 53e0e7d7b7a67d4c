"""The demo seed: the shape the other tests and `make run` rely on, and that a second run changes nothing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.service import check_credentials
from backend.dev.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoData, seed_demo
from backend.models import MembershipKind
from tenants.context import TenantContext
from tenants.isolation import Database

SNAPSHOT_SQL = """
SELECT 'tenants' AS t, count(*)::text AS n FROM tenants
UNION ALL SELECT 'identities', count(*)::text FROM identities
UNION ALL SELECT 'memberships', count(*)::text FROM memberships
UNION ALL SELECT 'suppliers', count(*)::text FROM suppliers
UNION ALL SELECT 'customers', count(*)::text FROM customers
UNION ALL SELECT 'items', count(*)::text FROM items
UNION ALL SELECT 'counters', string_agg(tenant_id || ':' || key || '=' || value, ',' ORDER BY tenant_id, key)
    FROM counters
"""


async def _snapshot(owner_engine: AsyncEngine) -> dict[str, str]:
    async with owner_engine.connect() as connection:
        return dict((await connection.execute(text(SNAPSHOT_SQL))).tuples().all())


async def test_first_run_created_everything(demo: DemoData) -> None:
    # The session database is fresh, so the fixture's run must have created every piece.
    kinds = [entry.split(" ", 1)[0] for entry in demo.created]
    assert kinds.count("tenant") == 2
    assert kinds.count("supplier") == 10
    assert kinds.count("customer") == 8
    assert kinds.count("item") == 16
    assert kinds.count("user") == 14
    assert kinds.count("category") == 7
    assert kinds.count("terms") == 2


async def test_second_run_changes_nothing(db: Database, demo: DemoData, owner_engine: AsyncEngine) -> None:
    before = await _snapshot(owner_engine)
    again = await seed_demo(db)
    assert again.created == ()
    assert again.tenants == demo.tenants  # same ids, found rather than made
    # counters included: a rerun that called create_supplier again would have bumped them
    assert await _snapshot(owner_engine) == before


async def test_tenants_and_parties(demo: DemoData, owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        tenants = {
            slug: (name, locale, currency)
            for slug, name, locale, currency in await connection.execute(
                text("SELECT slug, name, locale, currency FROM tenants")
            )
        }
        assert tenants["acme"] == ("Acme Manufacturing", "en", "USD")
        assert tenants["globex"] == ("Globex Trading", "zh_Hans", "CNY")
        for tenant in demo.tenants.values():
            assert len(tenant.supplier_ids) == 5
            assert len(tenant.customer_ids) == 4
            assert len(tenant.item_ids) == 8
            assert len(set(tenant.supplier_ids) | set(tenant.customer_ids) | set(tenant.item_ids)) == 17
            # other test modules may have added parties of their own: look at the demo's only
            rows = await connection.execute(
                text("SELECT id, country, currency FROM suppliers WHERE tenant_id = :t AND id = ANY(:ids)"),
                {"t": tenant.id, "ids": list(tenant.supplier_ids)},
            )
            suppliers = {row.id: (row.country, row.currency) for row in rows}
            assert set(suppliers) == set(tenant.supplier_ids)
            assert ("CN", "CNY") in suppliers.values()
            assert {"CN", "DE", "US"} <= {country for country, _ in suppliers.values()}
            prices = await connection.execute(
                text("SELECT list_price, currency FROM items WHERE tenant_id = :t AND id = ANY(:ids)"),
                {"t": tenant.id, "ids": list(tenant.item_ids)},
            )
            for price, currency in prices:
                assert isinstance(price, Decimal)
                assert price > 0
                assert len(currency) == 3
        first = await connection.scalar(
            text("SELECT name FROM suppliers WHERE tenant_id = :t AND id = :id"),
            {"t": demo.acme.id, "id": demo.acme.supplier_ids[0]},
        )
        assert first == "深圳华强电子有限公司"


async def test_memberships(demo: DemoData, owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        for tenant in demo.tenants.values():
            rows = await connection.execute(
                text(
                    "SELECT i.email, m.id, m.kind, m.roles, m.supplier_id, m.customer_id"
                    " FROM memberships m JOIN identities i ON i.id = m.identity_id WHERE m.tenant_id = :t"
                ),
                {"t": tenant.id},
            )
            found = {row.email: row for row in rows}
            assert set(found) >= set(tenant.memberships)  # other modules may add people
            assert {email: found[email].id for email in tenant.memberships} == dict(tenant.memberships)
            for local, roles in (("admin", ["admin", "owner"]), ("buyer", ["buyer"]), ("viewer", ["viewer"])):
                row = found[tenant.email(local)]
                assert (row.kind, row.roles, row.supplier_id, row.customer_id) == ("staff", roles, None, None)
            expected_party = {
                "supplier": ("supplier", tenant.supplier_ids[0], None),
                "supplier2": ("supplier", tenant.supplier_ids[1], None),
                "customer": ("customer", None, tenant.customer_ids[0]),
                "customer2": ("customer", None, tenant.customer_ids[1]),
            }
            for local, expected in expected_party.items():
                row = found[tenant.email(local)]
                assert (row.kind, row.supplier_id, row.customer_id) == expected


async def test_logins_list_matches_the_seed(demo: DemoData) -> None:
    assert len(DEMO_LOGINS) == 14
    for login in DEMO_LOGINS:
        assert login.email in demo.tenants[login.slug].memberships
    by_email = {login.email: login for login in DEMO_LOGINS}
    assert by_email["supplier@acme.test"].portal == MembershipKind.SUPPLIER
    assert by_email["supplier@acme.test"].path == "/supplier"
    assert by_email["customer2@globex.test"].path == "/customer"
    assert by_email["admin@globex.test"].path == "/"


async def test_demo_password_logs_in(db: Database, demo: DemoData) -> None:
    async with db.transaction(TenantContext.system(None)) as session:  # the login step's context
        for email in ("admin@acme.test", "supplier2@globex.test"):
            identity = await check_credentials(session, email, DEMO_PASSWORD, client="127.0.0.1", max_failures=1000)
            assert identity.email == email
