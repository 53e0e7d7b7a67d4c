"""The way out: SMTP_URL read into a server description, a mail made into a MIME message (text and
HTML alternatives), and aiosmtplib to deliver it.

    smtp://[user:password@]host[:port][?starttls=1|0][&from=address]
    smtps://[user:password@]host[:port][?from=address]

smtp:// upgrades with STARTTLS whenever the server offers it; `starttls=1` insists on it (and
defaults to the submission port 587), `starttls=0` never upgrades (a local relay). smtps:// is
TLS from the first byte (port 465). User and password are percent-decoded. `from` is the sender
address (default no-reply@<base domain>); the display name is always the tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from backend.models import OutgoingMail
from backend.notifications.rendering import RenderedMail, html_lang
from backend.settings import SettingsError

TIMEOUT_SECONDS = 30
_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the start (smtps://)
    start_tls: bool | None  # None: upgrade if offered
    sender: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise SettingsError("SMTP_URL must be an smtp:// or smtps:// URL")
        if not parts.hostname:
            raise SettingsError("SMTP_URL names no host")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", [""])[-1].lower()
        if starttls and starttls not in _YES + _NO:
            raise SettingsError(f"SMTP_URL: starttls must be 1 or 0, not {starttls!r}")
        start_tls = True if starttls in _YES else False if starttls in _NO else None
        if scheme == "smtps" and start_tls is not None:
            raise SettingsError("SMTP_URL: smtps:// is TLS from the start, starttls does not apply")
        try:
            port = parts.port
        except ValueError:
            raise SettingsError("SMTP_URL has an invalid port") from None
        sender = query.get("from", [""])[-1].strip() or None
        if sender is not None and "@" not in sender:
            raise SettingsError("SMTP_URL: from must be an e-mail address")
        default_port = 465 if scheme == "smtps" else 587 if start_tls else 25
        return cls(
            hostname=parts.hostname,
            port=port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=scheme == "smtps",
            start_tls=False if scheme == "smtps" else start_tls,
            sender=sender,
        )


def build_message(mail: OutgoingMail, content: RenderedMail, *, sender_name: str, sender_address: str) -> EmailMessage:
    """`content` (the real message) for `mail`'s recipient: text/plain and text/html as alternatives
    of one multipart message, in the mail's language."""
    local, _, domain = sender_address.rpartition("@")
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = Address(display_name=sender_name, username=local, domain=domain)
    message["To"] = mail.to_address
    message["Date"] = format_datetime(mail.created_at)
    # the mail id in the Message-ID ties a delivered message back to its row
    message["Message-ID"] = make_msgid(idstring=str(mail.id), domain=domain or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    # after the parts: making the message multipart moves Content-* headers into its first part
    message["Content-Language"] = html_lang(mail.locale)
    return message


async def deliver(server: SmtpServer, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.use_tls,
        start_tls=server.start_tls,
        timeout=TIMEOUT_SECONDS,
    )


def permanently_refused(error: aiosmtplib.SMTPRecipientsRefused) -> bool:
    """Every recipient refused with a 5xx: sending again will not help, unlike a 4xx or a lost
    connection."""
    return all(500 <= refusal.code < 600 for refusal in error.recipients)
