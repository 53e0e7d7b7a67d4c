"""The account-takeover paths found in the shared login (issue 9), each tried the way the attacker
would: over HTTP only, with two workspaces (acme and globex), as an anonymous stranger or as the
admin of a workspace. Each test names the path it closes.

1. Pre-registering someone's e-mail through a public form, then riding the access they get later.
2. Reading a supplier invitation's secret on the Outgoing mail page, and accepting it.
3. Reading a password-reset link of another workspace's owner from kept mail (no SMTP).
4. Locking anyone out with wrong passwords from anywhere (test_throttling.py tries it at length).
5. A reset that leaves sessions elsewhere alive.
6. Wiping the password of someone else's login, and squatting an address.
7. Telling from a public form whether an address has a login (also test_supplier_registration.py
   and tests/stripe/test_billing_page.py for the registration and signup forms in full).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DEMO_PASSWORD, DemoData
from backend.models import MembershipKind
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.fixtures.accounts import send_mail, token_of
from tests.fixtures.mail import delivered_link, kept_mail, mails_to, text_of
from tests.fixtures.people import Login, add_login, taking_away_memberships_made
from tests.web.conftest import enter_from_apex

ATTACKER_PASSWORD = "attacker-chose-this-1"
NEW_PASSWORD = "the-victim-chose-this"


@pytest.fixture(scope="module", autouse=True)
async def _people_leave_with_the_module(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """The people these tests add leave with them: the demo workspaces keep their plan's seats."""
    async with taking_away_memberships_made(owner_engine):
        yield


def _api(app: HostDispatcher, host: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}", headers=headers)


async def _token(app: HostDispatcher, host: str, email: str, password: str) -> str:
    async with _api(app, host) as api:
        response = await api.post("/api/v1/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _choose_password(browser: Any, host: str, email: str, password: str) -> httpx.Response:
    """What the person does with the link in their own mailbox."""
    link = await delivered_link(email)
    page = browser(host)
    response: httpx.Response = await page.post_form(
        "/account/set-password", {"token": token_of(link), "password": password, "confirm": password}
    )
    return response


async def _login_of(
    db: Database,
    tenant_id: UUID,
    who: str,
    *,
    kind: MembershipKind = MembershipKind.STAFF,
    roles: tuple[str, ...] = (),
    customer: UUID | None = None,
) -> Login:
    """A fresh person with a login (the demo password) in one workspace, this test's own."""
    email = f"{who}-{secrets.token_hex(3)}@takeover.example"
    return await add_login(db, tenant_id, email, kind, roles=roles, customer_id=customer)


def _registration(email: str, **extra: str) -> dict[str, str]:
    return {
        "legal_name": "Squatter Trading Ltd",
        "country": "GB",
        "currency": "GBP",
        "tax_id": "GB980780684",
        "street": "1 High Street",
        "city": "London",
        "full_name": "Not The Victim",
        "login_email": email,
        **extra,
    }


async def test_1_a_pre_registered_address_gives_the_registrant_nothing(
    browser: Any, db: Database, demo: DemoData
) -> None:
    victim = f"victim-{secrets.token_hex(3)}@example.test"
    attacker = browser("acme.localhost")
    # the attacker registers a supplier with the victim's address, a password smuggled in too
    asked = await attacker.post_form("/supplier/register", _registration(victim, password=ATTACKER_PASSWORD))
    assert asked.status_code == 200
    assert attacker.client.cookies.get("merkato_registration") is None  # no draft without the link
    apex = browser("localhost")
    assert (await apex.login(victim, ATTACKER_PASSWORD)).status_code == 400
    # later globex gives the victim access: the attacker still has no way in, anywhere
    admin = browser("globex.localhost")
    await admin.login("admin@globex.test")
    added = await admin.post_form("/admin/users", {"email": victim, "full_name": "Real Victim", "roles": "buyer"})
    assert added.status_code in (302, 303)
    for host in ("localhost", "globex.localhost", "acme.localhost"):
        assert (await browser(host).login(victim, ATTACKER_PASSWORD)).status_code == 400
    assert (await apex.get("/workspaces")).headers["location"].startswith("/login")
    # the victim, through their own mailbox, chooses their own password and is in
    await send_mail(db, [demo.globex.id])
    assert (await _choose_password(browser, "globex.localhost", victim, NEW_PASSWORD)).headers["location"] == "/"
    assert (await browser("localhost").login(victim, NEW_PASSWORD)).headers["location"] == "/workspaces"


async def test_2_a_supplier_invitation_is_not_on_the_outgoing_mail_page(
    browser: Any, db: Database, demo: DemoData
) -> None:
    invited = f"invited-{secrets.token_hex(3)}@example.test"
    admin = browser("acme.localhost")
    await admin.login("admin@acme.test")
    sent = await admin.post_form(
        "/suppliers/invite", {"legal_name": "Invited GmbH", "country": "DE", "currency": "EUR", "email": invited}
    )
    assert sent.status_code in (302, 303)
    await send_mail(db, [demo.acme.id])
    link = await delivered_link(invited)  # what reached the invited mailbox (the operator's copy here)
    secret = link.rsplit("/", 1)[1]
    [mail] = await mails_to(db, demo.acme.id, invited)
    for page in (await admin.get("/admin/mail", params={"q": invited}), await admin.get(f"/admin/mail/{mail.id}")):
        assert page.status_code == 200
        assert secret not in page.text
        assert not re.search(r"/supplier/register/invitation/[A-Za-z0-9_-]{20,}", page.text)


async def test_3_kept_mail_shows_no_reset_link_of_another_workspaces_owner(
    browser: Any, db: Database, demo: DemoData
) -> None:
    """acme's admin adds globex's owner to acme, asks for a reset in their name and reads the
    Outgoing mail page: the link went to the owner's mailbox only; and globex's owner keeps their
    password and sessions."""
    owner = (await _login_of(db, demo.globex.id, "owner", roles=("owner",))).email
    owner_session = browser("globex.localhost")
    assert (await owner_session.login(owner)).headers["location"] == "/"
    admin = browser("acme.localhost")
    await admin.login("admin@acme.test")
    added = await admin.post_form("/admin/users", {"email": owner, "full_name": "Globex Owner", "roles": "viewer"})
    assert added.status_code in (302, 303)
    assert (await admin.post_form("/account/forgot-password", {"email": owner})).status_code == 200
    await send_mail(db, [demo.acme.id])
    reset = [m for m in await mails_to(db, demo.acme.id, owner) if m.template == "password_reset"]
    assert len(reset) == 1
    delivered = [text_of(m) for m in kept_mail(owner) if "set-password?token=" in text_of(m)]
    secret = token_of(re.findall(r"\S+set-password\?token=\S+", delivered[-1])[0])
    shown = await admin.get(f"/admin/mail/{reset[0].id}")
    assert shown.status_code == 200
    assert secret not in shown.text
    assert "token=…" in shown.text
    # nothing about globex's owner changed: the password works, the session goes on
    assert (await owner_session.get("/")).status_code == 200
    assert (await browser("globex.localhost").login(owner)).headers["location"] == "/"


async def test_4_failures_on_a_workspace_where_the_victim_is_no_member_do_not_hold_them_back(
    app: HostDispatcher, browser: Any
) -> None:
    for attempt in range(12):  # from many places, through the API of a workspace of which they are no member
        transport = httpx.ASGITransport(app=app, client=(f"10.44.{attempt}.{secrets.randbelow(250) + 1}", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://acme.localhost") as api:
            refused = await api.post("/api/v1/token", json={"email": "buyer@globex.test", "password": "guess"})
            assert refused.status_code == 401
    assert (await browser("globex.localhost").login("buyer@globex.test")).headers["location"] == "/"


async def test_5_a_reset_ends_every_session_and_token_everywhere(
    app: HostDispatcher, browser: Any, db: Database, demo: DemoData
) -> None:
    """A person working for both workspaces: a reset through acme ends their globex and apex
    sessions and both workspaces' API tokens too."""
    email = f"both-{secrets.token_hex(3)}@example.test"
    for slug in ("acme", "globex"):
        admin = browser(f"{slug}.localhost")
        await admin.login(f"admin@{slug}.test")
        added = await admin.post_form("/admin/users", {"email": email, "full_name": "Bo Both", "roles": "viewer"})
        assert added.status_code in (302, 303)
    await send_mail(db, [demo.acme.id, demo.globex.id])
    assert (await _choose_password(browser, "globex.localhost", email, "the-first-password")).status_code == 303
    on_acme, on_globex, apex = browser("acme.localhost"), browser("globex.localhost"), browser("localhost")
    for page in (on_acme, on_globex, apex):
        assert (await page.login(email, "the-first-password")).status_code in (302, 303)
    tokens = {
        host: await _token(app, host, email, "the-first-password") for host in ("acme.localhost", "globex.localhost")
    }
    entered = browser("acme.localhost")
    assert (await enter_from_apex(apex, entered, "acme")).headers["location"] == "/"

    assert (await browser("acme.localhost").post_form("/account/forgot-password", {"email": email})).status_code == 200
    await send_mail(db, [demo.acme.id])
    assert (await _choose_password(browser, "acme.localhost", email, NEW_PASSWORD)).headers["location"] == "/"

    for page in (on_acme, on_globex, entered):
        assert (await page.get("/")).headers["location"].startswith("/login")
    assert (await apex.get("/workspaces")).headers["location"].startswith("/login")
    for host, token in tokens.items():
        async with _api(app, host, token) as api:
            assert (await api.get("/api/v1/me")).status_code == 401
            assert (await api.get("/api/v1/suppliers")).status_code == 401
    assert (await browser("globex.localhost").login(email, "the-first-password")).status_code == 400
    assert (await browser("globex.localhost").login(email, NEW_PASSWORD)).headers["location"] == "/"


async def test_6_no_workspace_wipes_a_login_and_a_squatted_address_blocks_nothing(
    browser: Any, db: Database, demo: DemoData
) -> None:
    # a staff admin and a supplier admin of another workspace add existing logins of acme: they
    # keep their passwords, and their sessions go on
    first = await _login_of(db, demo.acme.id, "first", kind=MembershipKind.CUSTOMER, customer=demo.acme.customer_ids[0])
    second = await _login_of(
        db, demo.acme.id, "second", kind=MembershipKind.CUSTOMER, customer=demo.acme.customer_ids[0]
    )
    customer = browser("acme.localhost")
    assert (await customer.login(first.email)).headers["location"] == "/customer"
    globex_admin = browser("globex.localhost")
    await globex_admin.login("admin@globex.test")
    added = await globex_admin.post_form(
        f"/suppliers/{demo.globex.supplier_ids[2]}/users", {"email": first.email, "full_name": "Someone"}
    )
    assert added.status_code in (302, 303)
    supplier_admin = browser("globex.localhost")
    await supplier_admin.login("supplier@globex.test")
    colleague = await supplier_admin.post_form(
        "/supplier/company/colleagues", {"email": second.email, "full_name": "Someone", "role": "sales"}
    )
    assert colleague.status_code in (302, 303)
    assert (await customer.get("/customer")).status_code == 200
    for login in (first, second):
        assert (await browser("acme.localhost").login(login.email, DEMO_PASSWORD)).headers["location"] == "/customer"

    # a stranger squats an address through the public forms: its invitation and its reset still work
    squatted = f"squatted-{secrets.token_hex(3)}@example.test"
    for host in ("acme.localhost", "globex.localhost"):
        assert (await browser(host).post_form("/supplier/register", _registration(squatted))).status_code == 200
    await send_mail(db, [demo.acme.id, demo.globex.id])  # (the links go to the rightful owner's mailbox)
    await globex_admin.post_form("/admin/users", {"email": squatted, "full_name": "Rightful Owner", "roles": "viewer"})
    await send_mail(db, [demo.globex.id])
    assert (await _choose_password(browser, "globex.localhost", squatted, NEW_PASSWORD)).headers["location"] == "/"
    forgot = await browser("globex.localhost").post_form("/account/forgot-password", {"email": squatted})
    assert forgot.status_code == 200
    await send_mail(db, [demo.globex.id])
    assert (await delivered_link(squatted)).startswith("/account/set-password?token=")


async def test_7_public_forms_answer_alike_for_any_address(browser: Any) -> None:
    def main(response: httpx.Response, typed: str) -> str:
        return response.text.split("<main")[1].split("</main>")[0].replace(typed, "ADDRESS")

    stranger = f"nobody-{secrets.token_hex(3)}@example.test"
    for host, path, form in (
        ("acme.localhost", "/supplier/register", _registration),
        ("acme.localhost", "/account/forgot-password", lambda email: {"email": email}),
        ("localhost", "/account/forgot-password", lambda email: {"email": email}),
    ):
        answers = [
            main(await browser(host).post_form(path, form(email)), email)  # type: ignore[operator]
            for email in (stranger, "admin@acme.test", "buyer@globex.test")
        ]
        assert len(set(answers)) == 1, (host, path)
