"""Account flows through the web, end to end with the real jobs (no SMTP server: mail is kept for
the operator, where the tests read the links): an admin invites someone who follows the e-mailed
link, chooses a password and is logged in; password resets answer the same for any address and
mail only members, on a workspace's host and on the apex; a workspace never chooses a password.
Every link works once and expires."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.accounts.service import PersonForm, add_person
from backend.auth.tokens import digest
from backend.models import Identity, LinkPurpose, MailStatus, Membership, MembershipKind
from backend.settings import get_settings
from tenants.context import TenantContext
from tenants.isolation import Database
from tenants.resolution import workspace_origin
from tests.fixtures.accounts import expire_link, link_row, send_mail, token_of
from tests.fixtures.mail import delivered_link, kept_mail, mails_to, point_smtp_at, text_of
from tests.fixtures.people import give_login, taking_away_memberships_made

NEW_PASSWORD = "a-brand-new-password"
MESSAGE = re.compile(r'<article class="narrow" id="account-message">.*?</article>', re.DOTALL)
INVITED = '<span class="muted">Invited</span>'  # the users list's note for an invitation not yet accepted


@pytest.fixture(scope="module", autouse=True)
async def _people_leave_with_the_module(owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """The people these tests add leave with them: the demo workspaces keep their plan's seats."""
    async with taking_away_memberships_made(owner_engine):
        yield


@pytest.fixture(autouse=True)
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Development mode: mail is kept for the operator (under the worker's data directory), where
    these tests read the links; outgoing_mail keeps them masked."""
    point_smtp_at(monkeypatch, None)
    yield
    get_settings.cache_clear()


async def _send_mail(db: Database, tenant_id: UUID) -> None:
    await send_mail(db, [tenant_id])


async def _identity(db: Database, tenant_id: UUID, email: str) -> Identity:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        identity = await session.scalar(select(Identity).where(Identity.email == email))
        assert identity is not None
        return identity


def _message(page: str) -> str:
    found = MESSAGE.search(page)
    assert found, "an account message page"
    return found.group(0)


async def _invite(browser: Any, email: str, full_name: str, path: str = "/admin/users", **extra: str) -> None:
    admin = browser()
    await admin.login("admin@acme.test")
    added = await admin.post_form(path, {"email": email, "full_name": full_name, **extra})
    assert added.status_code in (302, 303), added.text[:500]


async def test_invited_staff_user_sets_a_password_once_and_is_logged_in(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "invited.buyer@acme.test"
    await _invite(browser, email, "Invited Buyer", roles="buyer")
    identity = await _identity(db, acme.id, email)
    assert not identity.has_password
    assert identity.verified_at is None

    await _send_mail(db, acme.id)
    [mail] = await mails_to(db, acme.id, email)
    assert mail.template == "invitation"
    assert mail.status == MailStatus.KEPT
    assert mail.locale == "en"  # the workspace's language: the person chose none yet
    assert acme.name in mail.subject
    path = await delivered_link(email)
    assert path.split("token=")[1] not in mail.text_body + mail.html_body  # stored masked
    assert path.startswith("/account/set-password?token=")
    link = await link_row(db, path)
    assert link is not None
    assert (link.email, link.purpose, link.workspace_id) == (email, LinkPurpose.INVITATION, acme.id)
    assert link.token_hash == digest(token_of(path))  # only the hash is stored
    assert timedelta(days=6) < link.expires_at - datetime.now(UTC) <= timedelta(days=7)

    admin = browser()
    await admin.login("admin@acme.test")
    users = await admin.get("/admin/users", params={"q": "invited.buyer"})
    assert INVITED in users.text

    person = browser()
    form = await person.get(path)
    assert form.status_code == 200
    assert "Welcome, Invited Buyer" in form.text
    token_value = path.split("token=")[1]
    short = await person.post_form(
        "/account/set-password", {"token": token_value, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400
    assert 'id="e-password"' in short.text
    mismatch = await person.post_form(
        "/account/set-password", {"token": token_value, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}
    )
    assert mismatch.status_code == 400
    assert 'id="e-confirm"' in mismatch.text

    done = await person.post_form(
        "/account/set-password", {"token": token_value, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    home = await person.get("/")
    assert home.status_code == 200
    assert "Invited Buyer" in home.text
    assert (await _identity(db, acme.id, email)).verified_at is not None
    assert INVITED not in (await admin.get("/admin/users", params={"q": "invited.buyer"})).text

    # single use: the page and the form both refuse the link now
    again = await browser().get(path)
    assert again.status_code == 400
    assert "already been used" in again.text
    replay = await browser().post_form(
        "/account/set-password",
        {"token": token_value, "password": "another-password-1", "confirm": "another-password-1"},
    )
    assert replay.status_code == 400
    later = browser()
    assert (await later.login(email, NEW_PASSWORD)).headers["location"] == "/"


async def test_invited_portal_user_lands_in_their_portal(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "invited.contact@supplier.example"
    await _invite(browser, email, "Supplier Contact", path=f"/suppliers/{acme.supplier_ids[1]}/users")
    await _send_mail(db, acme.id)
    assert len(await mails_to(db, acme.id, email)) == 1
    token = (await delivered_link(email)).split("token=")[1]
    person = browser()
    done = await person.post_form(
        "/account/set-password", {"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.headers["location"] == "/supplier"
    assert (await person.get("/supplier")).status_code == 200


async def test_a_chinese_workspace_invites_in_chinese(browser: Any, db: Database, demo: Any) -> None:
    globex = demo.tenants["globex"]
    admin = browser("globex.localhost")
    await admin.login("admin@globex.test")
    email = "xin.yuangong@globex.test"
    added = await admin.post_form("/admin/users", {"email": email, "full_name": "新员工", "roles": "viewer"})
    assert added.status_code in (302, 303)
    await _send_mail(db, globex.id)
    [mail] = await mails_to(db, globex.id, email)
    assert mail.locale == "zh_Hans"
    assert '<html lang="zh-Hans">' in mail.html_body
    [message] = kept_mail(email)
    assert f"{workspace_origin(get_settings(), 'globex')}/account/set-password?token=" in text_of(message)


async def test_an_expired_invitation_is_refused_clearly(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "late.invitee@acme.test"
    await _invite(browser, email, "Late Invitee", roles="viewer")
    await _send_mail(db, acme.id)
    assert len(await mails_to(db, acme.id, email)) == 1
    path = await delivered_link(email)
    await expire_link(db, path)
    page = await browser().get(path)
    assert page.status_code == 400
    assert "This link has expired." in page.text
    assert 'href="/account/forgot-password"' in page.text
    refused = await browser().post_form(
        "/account/set-password",
        {"token": path.split("token=")[1], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert refused.status_code == 400
    assert "This link has expired." in refused.text
    assert not (await _identity(db, acme.id, email)).has_password
    unknown = await browser().get("/account/set-password", params={"token": "made-up"})
    assert unknown.status_code == 400
    assert "not valid" in unknown.text


async def _member_with_password(db: Database, tenant_id: UUID, email: str, password: str) -> None:
    """Someone who chose a password through their mailbox (the operator's shortcut here)."""
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await give_login(session, email, password, "Forgetful Person")
        await add_person(
            session,
            PersonForm(email=email, full_name="Forgetful Person", roles=["viewer"]),
            kind=MembershipKind.STAFF,
            welcome=False,
        )


async def test_password_reset_answers_alike_and_mails_only_members(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "forgetful@acme.test"
    await _member_with_password(db, acme.id, email, "the-first-password")
    login_page = await browser().get("/login")
    assert 'href="/account/forgot-password"' in login_page.text

    async def ask(address: str) -> Any:
        b = browser()
        return await b.post_form("/account/forgot-password", {"email": address})

    # unknown, known elsewhere but not here, and a member: one answer, word for word
    addresses = ("nobody.at.all@nowhere.example", "admin@globex.test", email)
    answers = [await ask(address) for address in addresses]
    assert {a.status_code for a in answers} == {200}
    # the page's message, with the address typed taken out (the rest differs only in CSRF tokens)
    texts = {_message(a.text).replace(address, "ADDRESS") for a, address in zip(answers, addresses, strict=True)}
    assert len(texts) == 1
    assert "If ADDRESS belongs to a login here, we have sent a link to it." in texts.pop()
    await ask(email.upper())  # asked again at once: still one e-mail

    await _send_mail(db, acme.id)
    assert not await mails_to(db, acme.id, "nobody.at.all@nowhere.example")
    assert not await mails_to(db, acme.id, "admin@globex.test")
    resets = [m for m in await mails_to(db, acme.id, email) if m.template == "password_reset"]
    assert len(resets) == 1
    path = await delivered_link(email)  # the reset: the last mail to that address
    link = await link_row(db, path)
    assert link is not None
    assert (link.purpose, link.workspace_id) == (LinkPurpose.PASSWORD_RESET, acme.id)
    assert timedelta(minutes=59) < link.expires_at - datetime.now(UTC) <= timedelta(hours=1)

    still_logged_in = browser()
    await still_logged_in.login(email, "the-first-password")
    person = browser()
    assert "Choose a new password" in (await person.get(path)).text
    done = await person.post_form(
        "/account/set-password", {"token": token_of(path), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert (await person.get("/")).status_code == 200
    # the old password, and the session it opened, are over
    assert (await still_logged_in.get("/")).headers["location"].startswith("/login")
    assert (await browser().login(email, "the-first-password")).status_code == 400
    assert (await browser().login(email, NEW_PASSWORD)).status_code in (302, 303)
    assert (await browser().get(path)).status_code == 400  # used once already
    # a link leads where it was made for: acme's reset link is no link on globex or the apex
    assert (await browser("globex.localhost").get(path)).status_code == 400


async def test_forgot_password_on_the_apex(browser: Any, db: Database, demo: Any) -> None:
    """The apex has its own 'forgot password': the link leads back to the apex, and the new
    password opens the workspace chooser."""
    acme = demo.tenants["acme"]
    email = "apex.forgetful@acme.test"
    await _member_with_password(db, acme.id, email, "the-first-password")
    apex = browser("localhost")
    assert 'href="/account/forgot-password"' in (await apex.get("/login")).text
    answers = [
        await browser("localhost").post_form("/account/forgot-password", {"email": address})
        for address in ("nobody.anywhere@nowhere.example", email)
    ]
    assert {a.status_code for a in answers} == {200}
    assert _message(answers[0].text).replace("nobody.anywhere@nowhere.example", "X") == _message(
        answers[1].text
    ).replace(email, "X")
    await _send_mail(db, acme.id)
    path = await delivered_link(email)
    link = await link_row(db, path)
    assert link is not None
    assert (link.purpose, link.workspace_id) == (LinkPurpose.PASSWORD_RESET, None)
    assert (await browser("acme.localhost").get(path)).status_code == 400  # an apex link is no link here
    done = await apex.post_form(
        "/account/set-password", {"token": token_of(path), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.headers["location"] == "/workspaces"
    assert "Acme Manufacturing" in (await apex.get("/workspaces")).text
    assert (await browser("acme.localhost").login(email, NEW_PASSWORD)).headers["location"] == "/"


async def test_reset_form_checks_the_address(browser: Any) -> None:
    refused = await browser().post_form("/account/forgot-password", {"email": "not an e-mail"})
    assert refused.status_code == 400
    assert 'id="e-email"' in refused.text
    prefilled = await browser().get("/account/forgot-password", params={"email": "a@b.example"})
    assert 'value="a@b.example"' in prefilled.text


async def test_a_workspace_cannot_choose_a_password(browser: Any, db: Database, demo: Any) -> None:
    """The add-user form takes no password, and one smuggled into the request is ignored: the
    person chooses their own through the invitation in their mailbox."""
    acme = demo.tenants["acme"]
    email = "not.chosen@acme.test"
    admin = browser()
    await admin.login("admin@acme.test")
    form = await admin.get("/admin/users")
    assert 'name="password"' not in form.text
    added = await admin.post_form(
        "/admin/users", {"email": email, "full_name": "Not Chosen", "roles": "viewer", "password": "chosen-by-admin"}
    )
    assert added.status_code in (302, 303)
    assert not (await _identity(db, acme.id, email)).has_password
    assert (await browser().login(email, "chosen-by-admin")).status_code == 400
    await _send_mail(db, acme.id)
    [mail] = await mails_to(db, acme.id, email)
    assert mail.template == "invitation"


async def test_a_lost_invitation_is_sent_again_and_the_old_link_stops(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "lost.invitation@acme.test"
    await _invite(browser, email, "Lost Invitation", roles="viewer")
    await _send_mail(db, acme.id)
    first = await delivered_link(email)
    admin = browser()
    await admin.login("admin@acme.test")
    async with db.transaction(TenantContext.system(acme.id)) as session:
        membership = await session.scalar(
            select(Membership.id).join(Identity, Identity.id == Membership.identity_id).where(Identity.email == email)
        )
    listing = await admin.get("/admin/users", params={"q": "lost.invitation"})
    assert f'id="resend-{membership}"' in listing.text
    assert (await admin.post_form(f"/admin/users/{membership}/invitation")).status_code in (302, 303)
    await _send_mail(db, acme.id)
    second = await delivered_link(email)
    assert second != first
    assert (await browser().get(first)).status_code == 400
    assert (await browser().get(second)).status_code == 200
    # someone with a password has no invitation to resend
    taken = await admin.post_form(f"/admin/users/{acme.membership('viewer')}/invitation")
    assert taken.status_code == 400
    assert "no invitation waiting" in taken.text


async def test_an_existing_login_gets_no_invitation_but_a_notice(browser: Any, db: Database, demo: Any) -> None:
    """A person already on Merkato keeps their password; no link is made for them, but they are
    told that a workspace has given their login access."""
    globex = demo.tenants["globex"]
    admin = browser("globex.localhost")
    await admin.login("admin@globex.test")
    added = await admin.post_form(
        f"/suppliers/{globex.supplier_ids[2]}/users", {"email": "customer@acme.test", "full_name": "Acme Customer"}
    )
    assert added.status_code in (302, 303)
    await _send_mail(db, globex.id)
    (notice,) = await mails_to(db, globex.id, "customer@acme.test")
    assert notice.template == "access_granted"
    assert "token=" not in notice.text_body
    assert f"{workspace_origin(get_settings(), 'globex')}/login" in notice.text_body
    async with db.transaction(TenantContext.system(globex.id)) as session:
        membership = await session.scalar(
            select(Membership)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Identity.email == "customer@acme.test")
        )
    assert membership is not None
