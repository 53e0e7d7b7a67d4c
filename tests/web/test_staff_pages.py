"""Staff pages: lists search and page, forms validate field by field and write nothing when
they refuse, portal users are added to the right party, and other tenants' objects are 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.models import Membership, Supplier
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.accounts import send_mail, token_of
from tests.fixtures.mail import delivered_link


async def _count_suppliers(db: Database, tenant_id: Any, name: str) -> int:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        return int(await session.scalar(select(func.count()).where(Supplier.name == name)) or 0)


async def test_supplier_form_reports_each_bad_field_and_writes_nothing(browser: Any, db: Database, demo: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    response = await b.post_form(
        "/suppliers/", {"name": "Shenzhen Brightway", "country": "XX", "currency": "RMB", "email": "not-an-email"}
    )
    assert response.status_code == 400
    assert 'id="e-country"' in response.text
    assert 'id="e-currency"' in response.text
    assert 'id="e-email"' in response.text
    assert 'id="e-name"' not in response.text
    assert 'value="Shenzhen Brightway"' in response.text  # what was typed is kept
    assert await _count_suppliers(db, demo.tenants["acme"].id, "Shenzhen Brightway") == 0


async def test_create_supplier_gets_the_next_number_of_this_tenant(browser: Any, db: Database, demo: Any) -> None:
    b = browser()
    await b.login("buyer@acme.test")
    response = await b.post_form("/suppliers/", {"name": "Ningbo Castings Co.", "country": "cn", "currency": "cny"})
    assert response.status_code in (302, 303)
    detail = await b.get(response.headers["location"])
    assert detail.status_code == 200
    assert "Ningbo Castings Co." in detail.text
    async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
        supplier = await session.scalar(select(Supplier).where(Supplier.name == "Ningbo Castings Co."))
        numbers = list(await session.scalars(select(Supplier.number)))
    assert supplier is not None
    assert supplier.country == "CN"
    assert supplier.currency == "CNY"
    assert supplier.number == max(numbers)
    assert supplier.number.startswith("SUP-")


async def test_viewer_sees_lists_but_cannot_create(browser: Any) -> None:
    b = browser()
    await b.login("viewer@acme.test")
    listing = await b.get("/suppliers")
    assert listing.status_code == 200
    assert 'href="/suppliers/new"' not in listing.text
    refused = await b.post_form("/suppliers/", {"name": "Sneaky", "country": "DE", "currency": "EUR"})
    assert refused.status_code == 403


async def test_supplier_list_searches_and_pages(browser: Any, demo: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    everything = await b.get("/suppliers")
    first_name = everything.text.split('<td><a href="/suppliers/')[1].split("<td>")[1].split("</td>")[0]
    found = await b.get("/suppliers", params={"q": first_name[:6]})
    assert first_name in found.text
    nothing = await b.get("/suppliers", params={"q": "zz-no-such-supplier-zz"})
    assert "<td><a href=" not in nothing.text
    small_page = await b.get("/suppliers", params={"page": 999})
    assert small_page.status_code == 200


async def test_other_tenants_supplier_is_404_on_pages(browser: Any, demo: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    globex_supplier = demo.tenants["globex"].supplier_ids[0]
    assert (await b.get(f"/suppliers/{globex_supplier}")).status_code == 404
    assert (await b.get("/suppliers/not-a-uuid")).status_code == 404
    added = await b.post_form(
        f"/suppliers/{globex_supplier}/users",
        {"email": "x@example.com", "full_name": "X"},
    )
    assert added.status_code == 404


async def test_add_portal_user_to_supplier_then_they_log_in(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    supplier_id = acme.supplier_ids[2]
    admin = browser()
    await admin.login("admin@acme.test")
    bad = await admin.post_form(f"/suppliers/{supplier_id}/users", {"email": "nope", "full_name": ""})
    assert bad.status_code == 400
    assert 'id="e-email"' in bad.text
    assert 'id="e-full_name"' in bad.text
    data = {"email": "Li.Wei@Supplier3.example", "full_name": "李伟"}
    created = await admin.post_form(f"/suppliers/{supplier_id}/users", data)
    assert created.status_code in (302, 303)
    again = await admin.post_form(f"/suppliers/{supplier_id}/users", data)
    assert again.status_code == 400  # already a member of this workspace
    # the invitation in their mailbox: they choose their password and land in their portal
    await send_mail(db, [acme.id])
    link = await delivered_link("li.wei@supplier3.example")
    password = "correct-horse-battery"
    chosen = await browser().post_form(
        "/account/set-password", {"token": token_of(link), "password": password, "confirm": password}
    )
    assert chosen.headers["location"] == "/supplier"
    person = browser()
    assert (await person.login("li.wei@supplier3.example", password)).headers["location"] == "/supplier"
    home = await person.get("/supplier")
    assert "李伟" in home.text
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.scalar(
            select(Membership).where(Membership.supplier_id == supplier_id, Membership.kind == "supplier")
        )
    assert membership is not None


async def test_one_identity_serves_two_workspaces(browser: Any, demo: Any) -> None:
    """A company serving two buyers keeps one login: globex adds acme's second supplier user."""
    globex_admin = browser("globex.localhost")
    await globex_admin.login("admin@globex.test")
    supplier_id = demo.tenants["globex"].supplier_ids[3]
    added = await globex_admin.post_form(
        f"/suppliers/{supplier_id}/users", {"email": "supplier2@acme.test", "full_name": "Acme's supplier contact"}
    )
    assert added.status_code in (302, 303)  # no password needed: the identity exists
    apex = browser("localhost")
    await apex.login("supplier2@acme.test")
    chooser = await apex.get("/workspaces")
    assert "Acme Manufacturing" in chooser.text
    assert "Globex Trading" in chooser.text


async def test_staff_user_form_requires_roles_and_adds_user(browser: Any, db: Database, demo: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    refused = await b.post_form("/admin/users", {"email": "new.buyer@acme.test", "full_name": "New Buyer"})
    assert refused.status_code == 400
    assert "Choose at least one role." in refused.text
    assert 'name="password"' not in refused.text  # the person chooses it: an invitation is sent
    data = {"email": "new.buyer@acme.test", "full_name": "New Buyer", "roles": "buyer"}
    assert (await b.post_form("/admin/users", data)).status_code in (302, 303)
    listing = await b.get("/admin/users", params={"q": "new.buyer"})
    assert "new.buyer@acme.test" in listing.text
    await send_mail(db, [demo.acme.id])
    link = await delivered_link("new.buyer@acme.test")
    newcomer = browser()
    chosen = await newcomer.post_form(
        "/account/set-password", {"token": token_of(link), "password": "a-long-password", "confirm": "a-long-password"}
    )
    assert chosen.headers["location"] == "/"
    assert (await newcomer.get("/admin/users")).status_code == 403


async def test_language_switch_renders_chinese_layout(browser: Any) -> None:
    b = browser()
    await b.login("admin@acme.test")
    switched = await b.post_form("/lang", {"locale": "zh_Hans", "next": "/suppliers"})
    assert switched.headers["location"] == "/suppliers"
    page = await b.get("/suppliers")
    assert '<html lang="zh-Hans"' in page.text
    back = await b.post_form("/lang", {"locale": "en", "next": "//evil.example"})
    assert back.headers["location"] == "/"


async def test_unknown_workspace_and_error_pages_are_in_portal_style(browser: Any) -> None:
    missing = await browser("no-such-company.localhost").get("/")
    assert missing.status_code == 404
    assert "Workspace not found" in missing.text
    b = browser()
    await b.login("supplier@acme.test")
    staff_page = await b.get("/suppliers")
    assert staff_page.status_code == 404
    assert "Page not found" in staff_page.text
    assert "Traceback" not in staff_page.text
