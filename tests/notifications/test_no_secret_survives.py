"""No one-time secret survives anywhere but in the recipient's message. Every e-mail template in
backend/notifications/templates/email/ (listed from the directory, so a new one cannot escape) is
queued the way its real caller queues it — through the caller itself where that is practical,
else with a context built here whose link carries a known secret — and then, with an SMTP server
and without one: no column of its outgoing_mail row holds the secret (the sealed real message
included) before or after delivery, and neither do the Outgoing mail list and detail pages acme's
admin reads over HTTP; while the message delivered over SMTP, or kept for the operator as an
.eml file, does hold it."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, text

from backend.auth.tasks import send_link
from backend.auth.tokens import digest
from backend.dev.demo import DemoData
from backend.models import AccountLink, Identity, LinkPurpose, Membership, MembershipKind, SupplierRegistration
from backend.notifications.rendering import MASK, TEMPLATE_DIR, secret_link
from backend.notifications.service import queue_mail
from backend.notifications.tasks import SEND_MAIL
from backend.suppliers.invitations import NOTIFY_INVITATION
from tenants.context import TenantContext
from tenants.isolation import Database, allow_lookup
from tests.fixtures.jobs import drain
from tests.fixtures.mail import kept_mail, text_of
from tests.notifications.conftest import Inbox

EMAIL_DIR = TEMPLATE_DIR / "email"


def every_template() -> list[str]:
    """Each e-mail is a .txt (subject and text) and an .html of the same name; _partials excluded."""
    names = {
        kind: {p.stem for p in EMAIL_DIR.glob(f"*.{kind}") if not p.stem.startswith("_")} for kind in ("txt", "html")
    }
    assert names["txt"] == names["html"], "every e-mail has both a text and an HTML template"
    return sorted(names["txt"])


# --- how each e-mail is queued ------------------------------------------------------------------


@dataclass
class Queued:
    to: str
    secret: str | None  # known beforehand, or learned from the delivered message (`learn`)
    learn: Callable[[str], Awaitable[str]] | None = None


# (db, demo, acme's admin logged in, recipient, locale) -> the mail queued, not yet delivered
Queue = Callable[[Database, DemoData, Any, str, str], Awaitable[Queued]]


def _link(secret: str) -> Any:
    # a one-time link of the shape the real ones have, the secret in the path
    return secret_link(f"http://acme.localhost/one-time/{secret}", secret)


# The contexts of the e-mails whose real callers are not driven here (billing needs Stripe's state,
# the supplier notices a registration or document history): the values those callers pass, and
# the link as a one-time link with a known secret — none of them carries a secret today, but the
# templates must mask one wherever they print it.
BUILT: dict[str, Callable[[str], dict[str, Any]]] = {
    "access_granted": lambda s: {"name": "Ada Lovelace", "link": _link(s)},
    "registration_member": lambda s: {"name": "Ada Lovelace", "login": _link(s)},
    **{
        f"billing_{notice}": lambda s: {
            "name": "Ada Lovelace",
            "link": _link(s),
            "plan": "Growth",
            "trial_end": "2026-12-24",
            "grace_end": "2026-12-31",
        }
        for notice in ("payment_failed", "read_only", "restored", "trial_ending")
    },
    "supplier_change": lambda s: {
        "name": "Ada Lovelace",
        "supplier": "Schraubenwerk GmbH",
        "kind": "bank_account",
        "status": "pending",
        "link": _link(s),
    },
    "supplier_document_expiring": lambda s: {
        "name": "Ada Lovelace",
        "supplier": "Schraubenwerk GmbH",
        "document": "ISO 9001",
        "expires_on": "2026-12-31",
        "days": 7,
        "link": _link(s),
    },
    "supplier_registration": lambda s: {
        "name": "Ada Lovelace",
        "supplier": "Schraubenwerk GmbH",
        "status": "more_info",
        "comment": "Please add an ISO 9001 certificate.",
        "link": _link(s),
    },
}


def _built(template: str) -> Queue:
    async def queue(db: Database, demo: DemoData, admin: Any, to: str, locale: str) -> Queued:
        secret = f"SeCrEt{secrets.token_urlsafe(24)}"
        async with db.transaction(TenantContext.system(demo.tenants["acme"].id)) as session:
            await queue_mail(session, to=to, template=template, locale=locale, context=BUILT[template](secret))
        return Queued(to=to, secret=secret)

    return queue


def _account_link(purpose: LinkPurpose) -> Queue:
    """backend/auth/tasks.send_link for a person of acme's staff without a password yet (for a
    registration: an address with no access to acme, else the job sends the note that it has some
    instead); the secret is learned from the delivered link and proved to be the one whose digest
    the account link keeps."""

    async def queue(db: Database, demo: DemoData, admin: Any, to: str, locale: str) -> Queued:
        acme = demo.tenants["acme"]
        async with db.transaction(TenantContext.system(acme.id)) as session:
            if purpose != LinkPurpose.REGISTRATION:
                await allow_lookup(session, email=to)  # a new identity is visible to the lookup of its e-mail
                identity = Identity(email=to, full_name="Ada Lovelace", locale=locale)
                session.add(identity)
                await session.flush()
                session.add(
                    Membership(tenant_id=acme.id, identity_id=identity.id, kind=MembershipKind.STAFF, roles=["viewer"])
                )
                await session.flush()
            payload = {"legal_name": "Schraubenwerk GmbH", "full_name": "Ada Lovelace", "tenant_id": str(acme.id)}
            workspace = None if purpose == LinkPurpose.SIGNUP else str(acme.id)
            await send_link(session, purpose=purpose.value, email=to, workspace_id=workspace, payload=payload)

        async def learn(delivered: str) -> str:
            found = re.search(r"[?&]token=([\w-]+)", delivered)
            assert found, "the delivered message carries the link's token"
            async with db.transaction(TenantContext.system(None)) as session:
                await allow_lookup(session, email=to)
                kept = await session.scalar(select(AccountLink.token_hash).where(AccountLink.email == to))
            assert kept == digest(found.group(1)), "the delivered token is the account link's secret"
            return found.group(1)

        return Queued(to=to, secret=None, learn=learn)

    return queue


async def _supplier_invitation(db: Database, demo: DemoData, admin: Any, to: str, locale: str) -> Queued:
    """Staff invite a supplier on acme's page (/suppliers/invite, in the workspace's language); the
    job in backend/suppliers/tasks makes the link. The secret is learned from the delivered link
    and proved to be the one whose digest the registration keeps."""
    acme = demo.tenants["acme"]
    sent = await admin.post_form(
        "/suppliers/invite", {"legal_name": "Schraubenwerk GmbH", "country": "DE", "currency": "EUR", "email": to}
    )
    assert sent.status_code in (302, 303), sent.text[:500]
    await drain(db, [acme.id], actor=NOTIFY_INVITATION)

    async def learn(delivered: str) -> str:
        found = re.search(r"/supplier/register/invitation/([\w-]+)", delivered)
        assert found, "the delivered message carries the invitation link"
        async with db.transaction(TenantContext.system(acme.id)) as session:
            kept = await session.scalar(
                select(SupplierRegistration.invitation_digest).where(SupplierRegistration.invited_email == to)
            )
        assert kept == digest(found.group(1)), "the delivered secret is the invitation's"
        return found.group(1)

    return Queued(to=to, secret=None, learn=learn)


REAL_CALLERS: dict[str, Queue] = {
    "invitation": _account_link(LinkPurpose.INVITATION),
    "password_reset": _account_link(LinkPurpose.PASSWORD_RESET),
    "registration_link": _account_link(LinkPurpose.REGISTRATION),
    "signup_link": _account_link(LinkPurpose.SIGNUP),
    "unlock": _account_link(LinkPurpose.UNLOCK),
    "supplier_invitation": _supplier_invitation,
}


def test_every_template_is_covered_here() -> None:
    assert not set(BUILT) & set(REAL_CALLERS)
    assert set(BUILT) | set(REAL_CALLERS) == set(every_template()), "say here how a new e-mail is queued"


# --- what is stored, shown and delivered --------------------------------------------------------


async def _rows(db: Database, tenant_id: UUID, to: str) -> list[dict[str, Any]]:
    """Every column of the address's outgoing_mail rows, as the database has them."""
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        result = await session.execute(text("SELECT * FROM outgoing_mail WHERE to_address = :to"), {"to": to})
        return [dict(row) for row in result.mappings()]


def _assert_not_in_row(secret: str, row: dict[str, Any]) -> None:
    for column, value in row.items():
        assert secret not in str(value), f"the secret is stored in outgoing_mail.{column}"
    if row["sealed_message"] is not None:
        assert secret.encode() not in base64.b64decode(row["sealed_message"]), "the seal holds the secret in plain"


def _html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    html: str = part.get_content()
    return html


@pytest.mark.parametrize("template", every_template())
@pytest.mark.parametrize("server", ["smtp", "none"])
async def test_no_secret_survives_but_in_the_delivered_message(
    template: str, server: str, db: Database, demo: DemoData, browser: Any, request: pytest.FixtureRequest
) -> None:
    inbox: Inbox | None = request.getfixturevalue("smtp") if server == "smtp" else None
    if server == "none":
        request.getfixturevalue("no_smtp")
    acme = demo.tenants["acme"]
    admin = browser()
    await admin.login("admin@acme.test")
    to = f"{template.replace('_', '-')}.{server}.{secrets.token_hex(4)}@secrets.example"
    locale = "zh_Hans" if server == "none" else "en"  # both catalogs, both transfer encodings

    queued = await (REAL_CALLERS.get(template) or _built(template))(db, demo, admin, to, locale)
    before = await _rows(db, acme.id, to)
    assert len(before) == 1
    assert before[0]["status"] == "queued"
    assert before[0]["template"] == template
    assert before[0]["sealed_message"] is not None, "a mail with a one-time secret keeps its real message sealed"

    assert (await drain(db, [acme.id], actor=SEND_MAIL)).get("done", 0) >= 1
    after = await _rows(db, acme.id, to)
    assert after[0]["status"] == ("sent" if inbox else "kept")
    assert after[0]["sealed_message"] is None, "delivered: the seal is wiped"

    delivered = inbox.to(to) if inbox else kept_mail(to)
    assert len(delivered) == 1
    plain, html = text_of(delivered[0]), _html_of(delivered[0])
    secret = queued.secret
    if secret is None:
        assert queued.learn is not None
        secret = await queued.learn(plain)
    assert secret in plain, "the recipient gets the whole link, in the text part"
    assert secret in html, "and in the HTML part"

    for row in (*before, *after):
        _assert_not_in_row(secret, row)
    assert MASK in after[0]["text_body"]
    assert MASK in after[0]["html_body"]

    mail_id = after[0]["id"]
    listing = await admin.get("/admin/mail", params={"q": to})
    assert listing.status_code == 200
    assert f"/admin/mail/{mail_id}" in listing.text
    detail = await admin.get(f"/admin/mail/{mail_id}")
    assert detail.status_code == 200
    assert to in detail.text
    assert MASK in detail.text
    for page in (listing, detail):
        assert secret not in page.text
    if inbox is None:
        assert 'id="mail-kept"' in detail.text  # says where the links went instead
