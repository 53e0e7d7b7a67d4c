"""The mail actor: delivers a queued e-mail over SMTP, or keeps it for the Outgoing mail page
when no SMTP server is configured (embedded mode), so that e-mails are only ever sent from here.

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

from backend.jobs.registry import job
from backend.models import MailStatus, OutgoingMail, Tenant
from backend.notifications.rendering import redact_links
from backend.notifications.smtp import SmtpServer, build_message, deliver, permanently_refused
from backend.settings import get_settings

SEND_MAIL = "notifications.send_mail"
# The outbox key of a mail's delivery is this and the mail id: one job per mail, and the
# Outgoing mail page finds the job (attempts, last error) by it.
MAIL_KEY_PREFIX = f"{SEND_MAIL}:"


def mail_job_key(mail_id: UUID) -> str:
    return f"{MAIL_KEY_PREFIX}{mail_id}"


@job(SEND_MAIL)
async def send_mail(session: AsyncSession, mail_id: str) -> None:
    mail = await session.scalar(select(OutgoingMail).where(OutgoingMail.id == UUID(mail_id)))
    if mail is None or mail.status != MailStatus.QUEUED:
        return  # delivered, kept or refused already
    # read at run time, not import time: the worker's settings, which tests may point elsewhere
    settings = get_settings()
    if not settings.smtp_url:
        mail.status = MailStatus.KEPT
        return
    server = SmtpServer.from_url(settings.smtp_url)
    tenant = await session.get(Tenant, mail.tenant_id)
    message = build_message(
        mail,
        sender_name=tenant.name if tenant else "Merkato",
        sender_address=server.sender or f"no-reply@{settings.base_domain}",
    )
    try:
        await deliver(server, message)
    except aiosmtplib.SMTPRecipientsRefused as refused:
        if not permanently_refused(refused):
            raise
        mail.status = MailStatus.FAILED
        mail.error = str(refused)[:4000]
    else:
        mail.status = MailStatus.SENT
        mail.sent_at = datetime.now(UTC)
        mail.error = None
    # Delivered or undeliverable, a one-time link in the stored copy is now only a liability:
    # admins can read this table, and the link belongs to the recipient alone.
    mail.text_body = redact_links(mail.text_body)
    mail.html_body = redact_links(mail.html_body)
