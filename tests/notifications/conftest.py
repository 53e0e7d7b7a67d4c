"""A real SMTP server for the mail actor to talk to (aiosmtpd on a free loopback port, in its own
thread), and SMTP_URL pointed at it — or at nothing — the way the worker reads it: through
get_settings(), re-read after the environment changes. The web stack's fixtures come along for
the pages (Outgoing mail, the bell)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from backend.settings import get_settings
from tests.fixtures.mail import point_smtp_at
from tests.web.conftest import app, browser  # noqa: F401  (the web stack, for the pages these tests read)

USER, PASSWORD = "merkato", "s3cret/with:odd@chars"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the server received; `refuse` holds addresses it answers 550 for."""

    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (USER, PASSWORD)
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    # plain SMTP on loopback; AUTH allowed without TLS only because this is a test server
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}?starttls=0&from=mailer@merkato.test"
    yield inbox
    controller.stop()


@pytest.fixture
def smtp(smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """SMTP_URL names the test server for this test."""
    point_smtp_at(monkeypatch, smtp_server.url)
    yield smtp_server
    get_settings.cache_clear()  # monkeypatch restores the environment next; read it afresh then


@pytest.fixture
def smtp_login(smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """SMTP_URL names the test server with a user and a password that needs percent-encoding."""
    authority = smtp_server.url.split("://", 1)[1].split("?", 1)[0]
    point_smtp_at(monkeypatch, f"smtp://{USER}:{quote(PASSWORD, safe='')}@{authority}?starttls=0")
    yield smtp_server
    get_settings.cache_clear()


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SMTP_URL (development): mail is kept for the operator, under the worker's data directory."""
    point_smtp_at(monkeypatch, None)
    yield
    get_settings.cache_clear()


@pytest.fixture
def smtp_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """SMTP_URL names a loopback port nobody listens on."""
    url = f"smtp://127.0.0.1:{free_port()}"
    point_smtp_at(monkeypatch, url)
    yield url
    get_settings.cache_clear()
