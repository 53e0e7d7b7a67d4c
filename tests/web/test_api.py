"""The JSON API: short-lived bearer tokens name their tenant; party users see only their own
party; other tenants' ids answer 404; bad input answers 400 with field details."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from backend.dev.demo import DEMO_PASSWORD
from backend.kit.ids import new_id
from backend.models import MembershipKind, TenantStatus
from backend.parties.service import PartyForm, create_supplier
from tenants.billing.plans import DEFAULT_PLAN, Limit, plan_of
from tenants.context import TenantContext
from tenants.directory import create_tenant
from tests.fixtures.people import add_login, remove_people
from tests.web.conftest import api_token


def client(app: Any, host: str = "acme.localhost", token: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", headers=headers)


async def test_token_then_me(app: Any, demo: Any) -> None:
    token = await api_token(app, "supplier@acme.test")
    async with client(app, token=token) as c:
        me = (await c.get("/api/v1/me")).json()
    acme = demo.tenants["acme"]
    assert me["kind"] == "supplier"
    assert me["tenant_id"] == str(acme.id)
    assert me["party_id"] == str(acme.supplier_ids[0])


async def test_bad_credentials_and_bad_input(app: Any) -> None:
    async with client(app) as c:
        wrong = await c.post("/api/v1/token", json={"email": "admin@acme.test", "password": "nope"})
        assert wrong.status_code == 401
        foreign = await c.post("/api/v1/token", json={"email": "admin@globex.test", "password": DEMO_PASSWORD})
        assert foreign.status_code == 401
        malformed = await c.post("/api/v1/token", json={"email": 42})
        assert malformed.status_code == 400
        assert "email" in malformed.text or "password" in malformed.text


async def test_token_is_only_good_on_its_own_tenant(app: Any, demo: Any) -> None:
    token = await api_token(app, "admin@acme.test")
    async with client(app, host="globex.localhost", token=token) as c:
        assert (await c.get("/api/v1/me")).status_code == 401
        assert (await c.get("/api/v1/suppliers")).status_code == 401


async def test_tampered_token_is_rejected(app: Any) -> None:
    token = await api_token(app, "customer@acme.test")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    async with client(app, token=forged) as c:
        assert (await c.get("/api/v1/me")).status_code == 401


async def test_staff_see_all_suppliers_party_users_only_their_own(app: Any, demo: Any) -> None:
    acme = demo.tenants["acme"]
    async with client(app, token=await api_token(app, "admin@acme.test")) as c:
        staff_view = (await c.get("/api/v1/suppliers", params={"size": 100})).json()
        assert staff_view["total"] >= 5
        assert {item["id"] for item in staff_view["items"]} >= {str(s) for s in acme.supplier_ids}
        globex_id = demo.tenants["globex"].supplier_ids[0]
        assert (await c.get(f"/api/v1/suppliers/{globex_id}")).status_code == 404
        assert (await c.get("/api/v1/suppliers", params={"size": 1000})).status_code == 400
    async with client(app, token=await api_token(app, "supplier2@acme.test")) as c:
        own = (await c.get("/api/v1/suppliers")).json()
        assert [item["id"] for item in own["items"]] == [str(acme.supplier_ids[1])]
        assert (await c.get(f"/api/v1/suppliers/{acme.supplier_ids[0]}")).status_code == 404
        assert (await c.get("/api/v1/customers")).json()["total"] == 0
    async with client(app, token=await api_token(app, "customer@acme.test")) as c:
        assert (await c.get("/api/v1/suppliers")).json()["total"] == 0
        one = await c.get(f"/api/v1/customers/{acme.customer_ids[0]}")
        assert one.status_code == 200
        assert one.json()["currency"]


async def test_openapi_document_lists_the_api(app: Any) -> None:
    async with client(app) as c:
        spec = (await c.get("/api/v1/schema/openapi.json")).json()
    assert "/api/v1/suppliers/{supplier_id}" in spec["paths"]
    assert "/login" not in spec["paths"]  # pages are not part of the API
    assert "BearerToken" in spec["components"]["securitySchemes"]


async def test_create_supplier_validates_numbers_and_announces(app: Any, db: Any, demo: Any) -> None:
    from sqlalchemy import select

    from backend.models import Notification
    from tenants.context import TenantContext
    from tests.fixtures.jobs import drain

    acme = demo.tenants["acme"]
    async with client(app, token=await api_token(app, "buyer@acme.test")) as c:
        bad = await c.post("/api/v1/suppliers", json={"name": "", "country": "XX", "currency": "CNY"})
        assert bad.status_code == 400
        assert set(bad.json()["extra"]) == {"name", "country"}
        created = await c.post(
            "/api/v1/suppliers", json={"name": "Suzhou Precision Molds", "country": "cn", "currency": "cny"}
        )
        assert created.status_code == 201, created.text
        supplier = created.json()
        assert supplier["number"].startswith("SUP-")
        assert (supplier["country"], supplier["currency"]) == ("CN", "CNY")
        assert (await c.get(f"/api/v1/suppliers/{supplier['id']}")).json()["name"] == "Suzhou Precision Molds"
    async with client(app, token=await api_token(app, "viewer@acme.test")) as c:
        assert (
            await c.post("/api/v1/suppliers", json={"name": "X", "country": "DE", "currency": "EUR"})
        ).status_code == 403
    async with client(app, token=await api_token(app, "supplier@acme.test")) as c:
        assert (
            await c.post("/api/v1/suppliers", json={"name": "X", "country": "DE", "currency": "EUR"})
        ).status_code == 404

    await drain(db, [acme.id], actor="parties.announce_supplier")
    async with db.transaction(TenantContext.system(acme.id)) as session:
        told = set(
            await session.scalars(
                select(Notification.membership_id).where(Notification.link == f"/suppliers/{supplier['id']}")
            )
        )
    assert acme.memberships["admin@acme.test"] in told
    assert acme.memberships["buyer@acme.test"] in told
    assert acme.memberships["viewer@acme.test"] not in told  # cannot act on it
    assert acme.memberships["supplier@acme.test"] not in told


async def test_out_of_range_paging_and_unstorable_text_are_refused_by_field(app: Any) -> None:
    """A page past any list, or text PostgreSQL cannot store (NUL), is bad input (400, naming the
    field), never a server error."""
    async with client(app, token=await api_token(app, "buyer@acme.test")) as c:
        far = await c.get("/api/v1/suppliers", params={"page": 2**63})
        assert far.status_code == 400
        assert far.json()["extra"][0]["key"] == "page"
        assert (await c.get("/api/v1/customers", params={"page": 1_000_000})).status_code == 200
        nul_query = await c.get("/api/v1/suppliers", params={"q": "Acme\x00"})
        assert nul_query.status_code == 400
        assert nul_query.json()["extra"][0]["key"] == "q"
        nul_name = await c.post("/api/v1/suppliers", json={"name": "Ac\x00me", "country": "DE", "currency": "EUR"})
        assert nul_name.status_code == 400
        assert set(nul_name.json()["extra"]) == {"name"}
        assert "NUL" in nul_name.json()["extra"]["name"]
    async with client(app) as c:
        nul_login = await c.post("/api/v1/token", json={"email": "admin@acme.test\x00", "password": DEMO_PASSWORD})
        assert nul_login.status_code == 400
        assert nul_login.json()["extra"][0]["key"] == "email"


async def test_openapi_document_states_the_rules_and_every_refusal(app: Any) -> None:
    async with client(app) as c:
        spec = (await c.get("/api/v1/schema/openapi.json")).json()
    one_supplier = spec["paths"]["/api/v1/suppliers/{supplier_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404"} <= set(one_supplier)
    token = spec["paths"]["/api/v1/token"]["post"]
    assert token["security"] == [{}]  # logging in needs no token
    assert {"200", "400", "401", "429"} <= set(token["responses"])
    new_party = spec["components"]["schemas"]["NewParty"]["properties"]
    assert new_party["name"]["maxLength"] == 200
    assert "pattern" in new_party["country"]
    assert "pattern" in new_party["currency"]
    page = next(p for p in spec["paths"]["/api/v1/suppliers"]["get"]["parameters"] if p["name"] == "page")
    assert page["schema"]["maximum"] == 1_000_000


async def test_a_full_plan_refuses_a_new_supplier_as_forbidden_not_as_bad_input(
    app: Any, db: Any, owner_engine: Any
) -> None:
    """Well-formed input the plan has no room for is not bad input: 403, naming the limit."""
    tenant_id, slug = new_id(), f"full-{secrets.token_hex(3)}"
    room = plan_of(DEFAULT_PLAN).limit(Limit.ACTIVE_SUPPLIERS)  # a new workspace starts on it
    assert room is not None
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(session, slug=slug, name="Full Plan", tenant_id=tenant_id, status=TenantStatus.ACTIVE)
        for n in range(room):
            await create_supplier(session, PartyForm(name=f"Supplier {n}", country="DE", currency="EUR"))
    buyer = await add_login(db, tenant_id, f"buyer@{slug}.test", MembershipKind.STAFF, roles=["buyer"])
    try:
        async with client(
            app, host=f"{slug}.localhost", token=await api_token(app, buyer.email, host=f"{slug}.localhost")
        ) as c:
            refused = await c.post("/api/v1/suppliers", json={"name": "One More", "country": "DE", "currency": "EUR"})
        assert refused.status_code == 403
        assert set(refused.json()["extra"]) == {"plan"}
    finally:
        await remove_people(owner_engine, [buyer])
