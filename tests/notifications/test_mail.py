"""E-mail: rendered in the recipient's language with the tenant's name, delivered by the actor to
a real SMTP server as text + HTML alternatives, handed to the server's operator when no server
is configured (an .eml file and a console line; the Outgoing mail page lists it, links masked),
retried and then failed visibly when the server is down, and never shown to another tenant or to
anyone but the workspace's admins. Its one-time link is stored masked, sealed for the actor
until delivery, and wiped from the seal once the mail is sent, kept or failed for good."""

from __future__ import annotations

import base64
import logging
import stat
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from backend.jobs.broker import load_jobs
from backend.jobs.consumer import run_job
from backend.kit.i18n import gettext
from backend.kit.ids import new_id
from backend.models import JobStatus, MailStatus, OutboxJob, OutgoingMail
from backend.notifications.rendering import RenderedMail, Secret, in_locale, secret_link
from backend.notifications.sealing import BrokenSeal, seal, unseal
from backend.notifications.service import queue_mail
from backend.notifications.smtp import SmtpServer
from backend.notifications.tasks import SEND_MAIL, mail_job_key
from backend.settings import SettingsError, get_settings
from tenants.context import TenantContext
from tenants.isolation import Database
from tests.fixtures.jobs import POLICY, drain
from tests.fixtures.mail import kept_mail, text_of
from tests.notifications.conftest import USER, Inbox

SECRET = "SECRET-one-time-token_123"
LINK = f"http://acme.localhost/account/set-password?token={SECRET}"


async def _queue(
    db: Database, tenant_id: UUID, to: str, *, locale: str = "en", link: str | Secret | None = None
) -> OutgoingMail:
    link = secret_link(LINK, SECRET) if link is None else link
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        return await queue_mail(
            session,
            to=to,
            template="invitation",
            locale=locale,
            context={"name": "李伟", "link": link, "days": 7, "hours": 168},
        )


async def _mail(db: Database, tenant_id: UUID, mail_id: UUID) -> OutgoingMail:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        mail = await session.get(OutgoingMail, (tenant_id, mail_id))
        assert mail is not None
        return mail


async def _sealed(db: Database, tenant_id: UUID, mail_id: UUID) -> str | None:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        query = select(OutgoingMail).options(undefer(OutgoingMail.sealed_message)).where(OutgoingMail.id == mail_id)
        mail = await session.scalar(query)
        assert mail is not None
        return mail.sealed_message


async def _job(db: Database, tenant_id: UUID, mail_id: UUID) -> OutboxJob:
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        job = await session.scalar(select(OutboxJob).where(OutboxJob.key == mail_job_key(mail_id)))
        assert job is not None, "queue_mail enqueues the delivery in the same transaction"
        return job


def _parts(message: Any) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_mail_arrives_as_text_and_html_in_the_recipients_language(db: Database, demo: Any, smtp: Inbox) -> None:
    globex = demo.tenants["globex"]
    mail = await _queue(db, globex.id, "li.wei@zh.example", locale="zh_Hans")
    assert mail.locale == "zh_Hans"
    assert await _sealed(db, globex.id, mail.id) is not None  # the real message, for the actor
    assert (await drain(db, [globex.id], actor=SEND_MAIL)).get("done", 0) >= 1

    [message] = smtp.to("li.wei@zh.example")
    with in_locale("zh_Hans"):
        # the subject as the zh_Hans catalog says it (Chinese once the lead's translation lands)
        expected = gettext("You are invited to %(tenant)s on Merkato") % {"tenant": globex.name}
    assert message["Subject"] == expected
    assert message["Content-Language"] == "zh-Hans"
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    assert '<html lang="zh-Hans">' in parts["text/html"]
    for body in parts.values():
        assert globex.name in body  # the tenant's branding, header and footer
        assert "李伟" in body
        assert LINK in body  # the recipient gets the whole link
    assert message["From"].addresses[0].display_name == globex.name
    assert message["From"].addresses[0].addr_spec == "mailer@merkato.test"  # SMTP_URL's from=

    stored = await _mail(db, globex.id, mail.id)
    assert stored.status == MailStatus.SENT
    assert stored.sent_at is not None
    # what is stored never carried the one-time secret; the sealed real message is gone now
    assert SECRET not in stored.subject + stored.text_body + stored.html_body
    assert "token=…" in stored.text_body
    assert await _sealed(db, globex.id, mail.id) is None


async def test_english_recipient_and_the_tenants_own_name(db: Database, demo: Any, smtp: Inbox) -> None:
    acme = demo.tenants["acme"]
    await _queue(db, acme.id, "jane@en.example", locale="en")
    await drain(db, [acme.id], actor=SEND_MAIL)
    [message] = smtp.to("jane@en.example")
    assert message["Subject"] == f"You are invited to {acme.name} on Merkato"
    assert message["Content-Language"] == "en"
    assert '<html lang="en">' in _parts(message)["text/html"]
    assert demo.tenants["globex"].name not in message.as_string()


async def test_smtp_credentials_from_the_url_are_used(db: Database, demo: Any, smtp_login: Inbox) -> None:
    acme = demo.tenants["acme"]
    await _queue(db, acme.id, "auth@en.example")
    await drain(db, [acme.id], actor=SEND_MAIL)
    assert smtp_login.to("auth@en.example")
    assert smtp_login.logins[-1] == USER  # the server accepted USER with PASSWORD, decoded from the URL


async def test_without_smtp_the_operator_gets_the_mail_and_admins_a_masked_copy(
    db: Database, demo: Any, no_smtp: None, browser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    acme = demo.tenants["acme"]
    mail = await _queue(db, acme.id, "kept@en.example")
    with caplog.at_level(logging.INFO, logger="merkato.mail"):
        await drain(db, [acme.id], actor=SEND_MAIL)
    stored = await _mail(db, acme.id, mail.id)
    assert stored.status == MailStatus.KEPT
    assert stored.sent_at is None
    assert SECRET not in stored.text_body + stored.html_body
    assert "token=…" in stored.text_body
    assert await _sealed(db, acme.id, mail.id) is None

    # the operator's copies: the whole message in the data directory, for the server's user only,
    # and one console line with the recipient, the subject and the link
    kept = get_settings().data_dir / "mail" / f"{mail.id}.eml"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    [message] = kept_mail("kept@en.example")
    assert message["Subject"] == stored.subject
    assert LINK in text_of(message)
    [line] = [
        r.getMessage() for r in caplog.records if r.name == "merkato.mail" and "kept@en.example" in r.getMessage()
    ]
    assert stored.subject in line
    assert LINK in line

    admin = browser()
    await admin.login("admin@acme.test")
    listing = await admin.get("/admin/mail", params={"q": "kept@en.example"})
    assert listing.status_code == 200
    assert "kept@en.example" in listing.text
    assert "Kept (no mail server)" in listing.text
    assert (await admin.get("/admin/mail", params={"status": "kept", "q": "kept@"})).text.count(
        f"/admin/mail/{mail.id}"
    ) == 1
    assert f"/admin/mail/{mail.id}" not in (await admin.get("/admin/mail", params={"status": "sent"})).text

    detail = await admin.get(f"/admin/mail/{mail.id}")
    assert detail.status_code == 200
    assert SECRET not in detail.text
    assert "token=…" in detail.text
    assert "given to the operator only and are never shown here" in detail.text
    # the HTML is shown in a sandboxed frame, escaped into srcdoc: no live markup on the page
    assert '<iframe sandbox="" srcdoc="&lt;!doctype html&gt;' in detail.text
    assert '<pre class="mail-text">' in detail.text


async def test_outgoing_mail_pages_page_and_search(db: Database, demo: Any, no_smtp: None, browser: Any) -> None:
    acme = demo.tenants["acme"]
    for n in range(27):
        await _queue(db, acme.id, f"bulk{n:02d}@paging.example")
    admin = browser()
    await admin.login("admin@acme.test")
    first = await admin.get("/admin/mail", params={"q": "@paging.example"})
    assert first.text.count("@paging.example</td>") == 25
    second = await admin.get("/admin/mail", params={"q": "@paging.example", "page": 2})
    assert second.text.count("@paging.example</td>") == 2
    assert "bulk00@paging.example" in second.text  # newest first: the oldest is last
    assert "27 e-mails" in first.text
    assert (await admin.get("/admin/mail", params={"page": 999})).status_code == 200


async def test_smtp_down_retries_then_fails_visibly(db: Database, demo: Any, smtp_down: str, browser: Any) -> None:
    load_jobs()
    acme = demo.tenants["acme"]
    mail = await _queue(db, acme.id, "down@en.example")
    job = await _job(db, acme.id, mail.id)
    outcomes = [await run_job(db, POLICY, SEND_MAIL, acme.id, job.id) for _ in range(POLICY.max_attempts)]
    assert outcomes == ["retry"] * (POLICY.max_attempts - 1) + ["failed"]
    failed = await _job(db, acme.id, mail.id)
    assert failed.status == JobStatus.FAILED
    assert failed.last_error
    # failed for good: the sealed link is wiped, so the mail is failed too (its recipient asks again)
    assert (await _mail(db, acme.id, mail.id)).status == MailStatus.FAILED
    assert await _sealed(db, acme.id, mail.id) is None

    admin = browser()
    await admin.login("admin@acme.test")
    detail = await admin.get(f"/admin/mail/{mail.id}")
    assert 'id="mail-status">Failed<' in detail.text
    assert failed.last_error.split(":")[0] in detail.text
    # never delivered, but meant for the recipient's inbox: its link is not handed to admins
    assert SECRET not in detail.text
    listing = await admin.get("/admin/mail", params={"status": "failed"})
    assert f"/admin/mail/{mail.id}" in listing.text


async def test_a_refused_recipient_fails_at_once(db: Database, demo: Any, smtp: Inbox) -> None:
    acme = demo.tenants["acme"]
    smtp.refuse.add("nobody@refused.example")
    mail = await _queue(db, acme.id, "nobody@refused.example")
    outcomes = await drain(db, [acme.id], actor=SEND_MAIL)
    assert outcomes.get("retry", 0) == 0
    stored = await _mail(db, acme.id, mail.id)
    assert stored.status == MailStatus.FAILED
    assert stored.error
    assert "550" in stored.error
    assert (await _job(db, acme.id, mail.id)).status == JobStatus.DONE  # nothing left to retry
    assert await _sealed(db, acme.id, mail.id) is None
    assert not smtp.to("nobody@refused.example")


async def test_a_mail_without_secrets_waits_for_a_retry_after_its_job_failed(
    db: Database, demo: Any, smtp_down: str
) -> None:
    """Nothing sealed, nothing lost: the mail stays queued behind its failed job, which an admin
    may retry once the server is back."""
    acme = demo.tenants["acme"]
    mail = await _queue(db, acme.id, "plain@en.example", link="http://acme.localhost/login")
    assert await _sealed(db, acme.id, mail.id) is None
    job = await _job(db, acme.id, mail.id)
    for _ in range(POLICY.max_attempts):
        await run_job(db, POLICY, SEND_MAIL, acme.id, job.id)
    assert (await _job(db, acme.id, mail.id)).status == JobStatus.FAILED
    assert (await _mail(db, acme.id, mail.id)).status == MailStatus.QUEUED


async def test_a_seal_made_under_another_secret_key_fails_the_mail_plainly(
    db: Database, demo: Any, smtp: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = demo.tenants["acme"]
    mail = await _queue(db, acme.id, "rotated@en.example")
    monkeypatch.setenv("MERKATO_SECRET_KEY", "a-new-secret-key-after-rotation-0123456789abcdef")
    get_settings.cache_clear()
    outcomes = await drain(db, [acme.id], actor=SEND_MAIL)
    assert outcomes.get("retry", 0) == 0  # no attempt can open it: none is made again
    stored = await _mail(db, acme.id, mail.id)
    assert stored.status == MailStatus.FAILED
    assert stored.error
    assert "secret key" in stored.error
    assert await _sealed(db, acme.id, mail.id) is None
    assert not smtp.to("rotated@en.example")  # never the masked copy instead


def test_a_seal_opens_only_for_its_own_row() -> None:
    """Copied to another mail, tenant or recipient, the real message does not open: whoever could
    change a row cannot send its link to themselves."""
    key = "k" * 48
    mail = OutgoingMail(tenant_id=new_id(), id=new_id(), to_address="ada@example.test", locale="en")
    real = RenderedMail(locale="en", subject="Reset", text=LINK, html=f'<a href="{LINK}">')
    sealed = seal(mail, real, key)
    assert SECRET.encode() not in base64.b64decode(sealed)
    assert unseal(mail, sealed, key) == real
    for other in (
        OutgoingMail(tenant_id=mail.tenant_id, id=mail.id, to_address="mallory@example.test", locale="en"),
        OutgoingMail(tenant_id=mail.tenant_id, id=new_id(), to_address=mail.to_address, locale="en"),
        OutgoingMail(tenant_id=new_id(), id=mail.id, to_address=mail.to_address, locale="en"),
    ):
        with pytest.raises(BrokenSeal):
            unseal(other, sealed, key)
    with pytest.raises(BrokenSeal):
        unseal(mail, sealed, "another-key" * 4)


def test_a_secret_link_shows_only_its_mask() -> None:
    token = "abc_DEF-123"
    link = secret_link(f"http://globex.localhost/supplier/register/invitation/{token}", token)
    assert link.value.endswith(f"/invitation/{token}")
    assert link.shown == "http://globex.localhost/supplier/register/invitation/…"
    assert token not in f"{link} {link!r}"  # as text, in a log line or an f-string: masked
    with pytest.raises(ValueError, match="part of the link"):
        secret_link("http://globex.localhost/login", token)


async def test_other_tenants_mail_is_invisible(db: Database, demo: Any, no_smtp: None, browser: Any) -> None:
    globex_mail = await _queue(db, demo.tenants["globex"].id, "globex-only@zh.example", locale="zh_Hans")
    acme_mail = await _queue(db, demo.tenants["acme"].id, "acme-only@en.example")
    admin = browser()
    await admin.login("admin@acme.test")
    listing = await admin.get("/admin/mail")
    assert "acme-only@en.example" in listing.text
    assert "globex-only@zh.example" not in listing.text
    searched = await admin.get("/admin/mail", params={"q": "globex-only"})
    assert "globex-only@zh.example" not in searched.text
    assert "No e-mails found." in searched.text
    assert (await admin.get(f"/admin/mail/{globex_mail.id}")).status_code == 404
    assert (await admin.get("/admin/mail/not-a-uuid")).status_code == 404

    viewer = browser()
    await viewer.login("viewer@acme.test")
    assert (await viewer.get("/admin/mail")).status_code == 403
    assert (await viewer.get(f"/admin/mail/{acme_mail.id}")).status_code == 403
    for party_user in ("supplier@acme.test", "customer@acme.test"):
        outsider = browser()
        await outsider.login(party_user)
        assert (await outsider.get("/admin/mail")).status_code == 404
        assert (await outsider.get(f"/admin/mail/{acme_mail.id}")).status_code == 404


def test_smtp_url_forms() -> None:
    plain = SmtpServer.from_url("smtp://relay.internal")
    assert (plain.hostname, plain.port, plain.use_tls, plain.start_tls) == ("relay.internal", 25, False, None)
    submission = SmtpServer.from_url("smtp://u%40x:p%2Fw@mail.example.com?starttls=1&from=noreply@example.com")
    assert (submission.port, submission.start_tls, submission.username, submission.password) == (
        587,
        True,
        "u@x",
        "p/w",
    )
    assert submission.sender == "noreply@example.com"
    assert SmtpServer.from_url("smtp://localhost:2525?starttls=0").start_tls is False
    implicit = SmtpServer.from_url("smtps://mail.example.com")
    assert (implicit.port, implicit.use_tls, implicit.start_tls) == (465, True, False)
    for bad in (
        "http://mail.example.com",
        "smtp://",
        "smtp://mail.example.com?starttls=maybe",
        "smtps://mail.example.com?starttls=1",
        "smtp://mail.example.com:notaport",
        "smtp://mail.example.com?from=nobody",
    ):
        with pytest.raises(SettingsError):
            SmtpServer.from_url(bad)
