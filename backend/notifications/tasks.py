"""The mail actor: delivers a queued e-mail over SMTP, or — when no SMTP server is configured
(development, embedded mode) — hands it to the server's operator (kept.py), so that e-mails are
only ever sent from here. It is the only reader of a mail's sealed real message, and it wipes the
seal once the mail is sent, kept or failed for good.

A lost connection or a temporary refusal raises, and the outbox retries with backoff (after the
last attempt the job is failed, shown on the Outgoing mail page and under Failed jobs). A
recipient the server refuses for good (5xx) marks the mail failed at once: retrying cannot help.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from backend.jobs.registry import job
from backend.models import MailStatus, OutgoingMail, Tenant
from backend.notifications.kept import keep
from backend.notifications.rendering import RenderedMail
from backend.notifications.sealing import BrokenSeal, unseal
from backend.notifications.smtp import SmtpServer, build_message, deliver, permanently_refused
from backend.settings import get_settings

SEND_MAIL = "notifications.send_mail"
# The outbox key of a mail's delivery is this and the mail id: one job per mail, and the
# Outgoing mail page finds the job (attempts, last error) by it.
MAIL_KEY_PREFIX = f"{SEND_MAIL}:"


def mail_job_key(mail_id: UUID) -> str:
    return f"{MAIL_KEY_PREFIX}{mail_id}"


async def _queued(session: AsyncSession, mail_id: str) -> OutgoingMail | None:
    mail = await session.scalar(
        select(OutgoingMail).options(undefer(OutgoingMail.sealed_message)).where(OutgoingMail.id == UUID(mail_id))
    )
    return mail if mail is not None and mail.status == MailStatus.QUEUED else None


def _close(mail: OutgoingMail, status: MailStatus, error: str | None = None) -> None:
    """The mail's last word: the real message is not needed any more, and only a liability."""
    mail.status = status
    mail.error = error[:4000] if error else None
    mail.sealed_message = None


async def _given_up(session: AsyncSession, mail_id: str) -> None:
    """Every attempt failed. A mail with sealed secrets is failed for good (its recipient asks for
    a new link); one without stays queued behind its failed job, which an admin may retry."""
    mail = await _queued(session, mail_id)
    if mail is not None and mail.sealed_message is not None:
        _close(mail, MailStatus.FAILED)


@job(SEND_MAIL, on_give_up=_given_up)
async def send_mail(session: AsyncSession, mail_id: str) -> None:
    mail = await _queued(session, mail_id)
    if mail is None:
        return  # delivered, kept or refused already
    # read at run time, not import time: the worker's settings, which tests may point elsewhere
    settings = get_settings()
    if mail.sealed_message is None:
        content = RenderedMail(locale=mail.locale, subject=mail.subject, text=mail.text_body, html=mail.html_body)
    else:
        try:
            content = unseal(mail, mail.sealed_message, settings.secret_key)
        except BrokenSeal as broken:
            _close(mail, MailStatus.FAILED, str(broken))  # sending it again cannot open it either
            return
    server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
    tenant = await session.get(Tenant, mail.tenant_id)
    message = build_message(
        mail,
        content,
        sender_name=tenant.name if tenant else "Merkato",
        sender_address=(server.sender if server else None) or f"no-reply@{settings.base_domain}",
    )
    if server is None:
        keep(settings.data_dir, mail.id, message)
        _close(mail, MailStatus.KEPT)
        return
    try:
        await deliver(server, message)
    except aiosmtplib.SMTPRecipientsRefused as refused:
        if not permanently_refused(refused):
            raise
        _close(mail, MailStatus.FAILED, str(refused))
    else:
        _close(mail, MailStatus.SENT)
        mail.sent_at = datetime.now(UTC)
