"""Account flows through the web, end to end with the real jobs (no SMTP server: mail is kept):
an admin invites someone who follows the e-mailed link, chooses a password and is logged in;
password resets answer the same for any address and mail only members; new logins with a
password confirm their address. Every link works once and expires."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from backend.auth.tasks import NOTIFY_ACCESS, SEND_ACCOUNT_LINK
from backend.auth.tokens import digest
from backend.models import AccountToken, Identity, MailStatus, Membership, OutboxJob, TokenPurpose
from backend.notifications.tasks import SEND_MAIL
from backend.settings import get_settings
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.jobs import drain
from tests.fixtures.mail import delivered_link, kept_mail, mails_to, point_smtp_at, text_of

NEW_PASSWORD = "a-brand-new-password"
MESSAGE = re.compile(r'<article class="narrow" id="account-message">.*?</article>', re.DOTALL)
INVITED = '<span class="muted">Invited</span>'  # the users list's note for an invitation not yet accepted


@pytest.fixture(autouse=True)
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Development mode: mail is kept for the operator (under the worker's data directory), where
    these tests read the links; outgoing_mail keeps them masked."""
    point_smtp_at(monkeypatch, None)
    yield
    get_settings.cache_clear()


async def _send_mail(db: Database, tenant_id: UUID) -> None:
    """What the worker would do next: make the links, then deliver (here: keep) the e-mails."""
    await drain(db, [tenant_id], actor=SEND_ACCOUNT_LINK)
    await drain(db, [tenant_id], actor=NOTIFY_ACCESS)
    await drain(db, [tenant_id], actor=SEND_MAIL)


async def _identity(db: Database, tenant_id: UUID, email: str) -> Identity:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        identity = await session.scalar(select(Identity).where(Identity.email == email))
        assert identity is not None
        return identity


async def _expire(db: Database, tenant_id: UUID, path: str) -> None:
    token = path.split("token=", 1)[1]
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await session.execute(
            update(AccountToken)
            .where(AccountToken.token_hash == digest(token))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )


def _message(page: str) -> str:
    found = MESSAGE.search(page)
    assert found, "an account message page"
    return found.group(0)


async def _reset_jobs(db: Database, tenant_id: UUID) -> int:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        count = await session.scalar(
            select(func.count()).where(
                OutboxJob.actor == SEND_ACCOUNT_LINK, OutboxJob.args["purpose"].astext == TokenPurpose.PASSWORD_RESET
            )
        )
        return count or 0


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
    assert identity.password_hash is None
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
    async with db.transaction(TenantContext.system(acme.id)) as session:
        token = await session.scalar(select(AccountToken).where(AccountToken.identity_id == identity.id))
    assert token is not None
    assert token.token_hash == digest(path.split("token=")[1])  # only the hash is stored
    assert timedelta(days=6) < token.expires_at - datetime.now(UTC) <= timedelta(days=7)

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
    assert "http://globex.localhost/account/set-password?token=" in text_of(message)


async def test_an_expired_invitation_is_refused_clearly(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "late.invitee@acme.test"
    await _invite(browser, email, "Late Invitee", roles="viewer")
    await _send_mail(db, acme.id)
    assert len(await mails_to(db, acme.id, email)) == 1
    path = await delivered_link(email)
    await _expire(db, acme.id, path)
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
    assert (await _identity(db, acme.id, email)).password_hash is None
    unknown = await browser().get("/account/set-password", params={"token": "made-up"})
    assert unknown.status_code == 400
    assert "not valid" in unknown.text


async def test_password_reset_answers_alike_and_mails_only_members(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "forgetful@acme.test"
    await _invite(browser, email, "Forgetful Person", roles="viewer", password="the-first-password")
    await _send_mail(db, acme.id)  # (its verification e-mail)
    login_page = await browser().get("/login")
    assert 'href="/account/forgot-password"' in login_page.text
    assert "forgot-password" not in (await browser("localhost").get("/login")).text  # tenant hosts only

    async def ask(address: str) -> Any:
        b = browser()
        return await b.post_form("/account/forgot-password", {"email": address})

    before = await _reset_jobs(db, acme.id)
    # unknown, known elsewhere but not here, and a member: one answer, word for word
    addresses = ("nobody.at.all@nowhere.example", "admin@globex.test", email)
    answers = [await ask(address) for address in addresses]
    assert {a.status_code for a in answers} == {200}
    # the page's message, with the address typed taken out (the rest differs only in CSRF tokens)
    texts = {_message(a.text).replace(address, "ADDRESS") for a, address in zip(answers, addresses, strict=True)}
    assert len(texts) == 1
    assert "If ADDRESS belongs to a login of this workspace, we have sent a link to it." in texts.pop()
    assert await _reset_jobs(db, acme.id) == before + 1  # the member's only
    await ask(email.upper())  # asked again at once: still one e-mail
    assert await _reset_jobs(db, acme.id) == before + 1

    await _send_mail(db, acme.id)
    assert not await mails_to(db, acme.id, "nobody.at.all@nowhere.example")
    assert not await mails_to(db, acme.id, "admin@globex.test")
    resets = [m for m in await mails_to(db, acme.id, email) if m.template == "password_reset"]
    assert len(resets) == 1
    path = await delivered_link(email)  # the reset: the last mail to that address
    async with db.transaction(TenantContext.system(acme.id)) as session:
        token = await session.scalar(
            select(AccountToken).where(AccountToken.token_hash == digest(path.split("token=")[1]))
        )
    assert token is not None
    assert token.purpose == TokenPurpose.PASSWORD_RESET
    assert timedelta(minutes=59) < token.expires_at - datetime.now(UTC) <= timedelta(hours=1)

    still_logged_in = browser()
    await still_logged_in.login(email, "the-first-password")
    person = browser()
    assert "Choose a new password" in (await person.get(path)).text
    done = await person.post_form(
        "/account/set-password", {"token": path.split("token=")[1], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303
    assert (await person.get("/")).status_code == 200
    # the old password, and the session it opened, are over
    assert (await still_logged_in.get("/")).headers["location"].startswith("/login")
    assert (await browser().login(email, "the-first-password")).status_code == 400
    assert (await browser().login(email, NEW_PASSWORD)).status_code in (302, 303)
    assert (await browser().get(path)).status_code == 400  # used once already


async def test_reset_form_checks_the_address(browser: Any) -> None:
    refused = await browser().post_form("/account/forgot-password", {"email": "not an e-mail"})
    assert refused.status_code == 400
    assert 'id="e-email"' in refused.text
    prefilled = await browser().get("/account/forgot-password", params={"email": "a@b.example"})
    assert 'value="a@b.example"' in prefilled.text


async def test_a_new_login_with_a_password_confirms_its_address(browser: Any, db: Database, demo: Any) -> None:
    acme = demo.tenants["acme"]
    email = "with.password@acme.test"
    await _invite(browser, email, "With Password", roles="viewer", password="chosen-by-the-admin")
    assert (await _identity(db, acme.id, email)).verified_at is None
    await _send_mail(db, acme.id)
    [mail] = await mails_to(db, acme.id, email)
    assert mail.template == "email_verification"
    path = await delivered_link(email)
    assert path.startswith("/account/verify?token=")

    confirmed = await browser().get(path)
    assert confirmed.status_code == 200
    assert "with.password@acme.test is confirmed" in confirmed.text
    assert (await _identity(db, acme.id, email)).verified_at is not None
    # a second click (or a mail scanner's first) still says so; the link does nothing else twice
    assert (await browser().get(path)).status_code == 200
    assert (await browser().get("/account/verify", params={"token": "made-up"})).status_code == 400
    assert (await browser().get("/account/verify")).status_code == 400

    admin = browser()
    await admin.login("admin@acme.test")
    listing = await admin.get("/admin/users", params={"q": "with.password"})
    assert "Not yet" not in listing.text  # the verified date is shown instead


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
    assert "http://globex.localhost/login" in notice.text_body
    async with db.transaction(TenantContext.system(globex.id)) as session:
        membership = await session.scalar(
            select(Membership)
            .join(Identity, Identity.id == Membership.identity_id)
            .where(Identity.email == "customer@acme.test")
        )
    assert membership is not None
