"""Throttling that cannot be aimed at a victim, tried the way a guesser works: over HTTP, from
several client addresses, against members of two workspaces.

The guesser's own address waits; the person, from anywhere else, logs in. A login guessed at from
everywhere answers the right password with an e-mailed link and the same words as a wrong one.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.app import PUBLIC_FORMS_PER_MINUTE, create_app
from backend.auth.throttle import ADDRESS_FREE, PAIR_FREE
from backend.dev.demo import DEMO_PASSWORD, DemoData
from backend.settings import load_settings
from tenants.isolation import Database
from tenants.resolution import HostDispatcher
from tests.web.conftest import Browser


def _address() -> str:
    """A client address no other test uses (throttling counts per address)."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def _error(response: httpx.Response) -> str:
    return response.text.split('id="login-error"')[1].split("</p>")[0]


async def test_one_address_guessing_a_password_waits_and_its_owner_does_not(browser: Any) -> None:
    guesser = browser("acme.localhost", client=_address())
    for attempt in range(PAIR_FREE):
        assert (await guesser.login("buyer@acme.test", f"guess-{attempt}")).status_code == 400
    waiting = await guesser.login("buyer@acme.test", DEMO_PASSWORD)  # even the right one, from here
    assert waiting.status_code == 429
    assert int(waiting.headers["retry-after"]) > 0
    assert "wait" in _error(waiting)
    assert guesser.client.cookies.get("merkato_session") is None
    # the person, from their own place, is not held back by the guesser
    person = browser("acme.localhost", client=_address())
    assert (await person.login("buyer@acme.test")).headers["location"] == "/"


async def test_one_address_guessing_many_logins_waits(app: HostDispatcher, browser: Any) -> None:
    address = _address()
    guesser = browser("globex.localhost", client=address)
    for attempt in range(ADDRESS_FREE):
        response = await guesser.login(f"nobody-{attempt}-{secrets.token_hex(2)}@example.com", "guess")
        assert response.status_code == 400
    assert (await guesser.login("admin@globex.test")).status_code == 429
    # the API answers that address the same way
    transport = httpx.ASGITransport(app=app, client=(address, 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://globex.localhost") as api:
        refused = await api.post("/api/v1/token", json={"email": "admin@globex.test", "password": DEMO_PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert (await browser("globex.localhost", client=_address()).login("admin@globex.test")).status_code == 302


@pytest.fixture(scope="module")
def shielding_app(db: Database, demo: DemoData, tmp_path_factory: pytest.TempPathFactory) -> HostDispatcher:
    """The app with a small allowance of failures per e-mail, so a test can reach it quickly."""
    settings = load_settings(
        {
            "MERKATO_ENV": "test",
            "MERKATO_SECRET_KEY": "test-secret-key-with-enough-entropy-0123456789",
            "MERKATO_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "MERKATO_LOGIN_MAX_FAILURES": "6",
        }
    )
    return create_app(settings, database=db)


@pytest.fixture
async def shielded(shielding_app: HostDispatcher) -> AsyncIterator[Any]:
    opened: list[Browser] = []

    def make(host: str, client: str) -> Browser:
        opened.append(Browser(shielding_app, host, client))
        return opened[-1]

    yield make
    for b in opened:
        await b.aclose()


async def _guess_from_everywhere(shielded: Any, host: str, email: str, times: int) -> None:
    for attempt in range(times):
        response = await shielded(host, _address()).login(email, f"distributed-guess-{attempt}")
        assert response.status_code in (400, 429)


async def test_guessing_a_login_from_everywhere_never_locks_its_person_out(
    shielded: Any,
) -> None:
    email = "supplier2@acme.test"
    await _guess_from_everywhere(shielded, "acme.localhost", email, 6)
    # now the right password from a new place does not log in by itself...
    right = await shielded("acme.localhost", _address()).login(email, DEMO_PASSWORD)
    wrong = await shielded("acme.localhost", _address()).login(email, "yet-another-guess")
    assert right.status_code == wrong.status_code == 429
    assert _error(right) == _error(wrong)  # ...and the guesser cannot tell which guess was right
    assert "e-mailed you a link" in _error(right)
    assert "merkato_session" not in right.headers.get("set-cookie", "")
    # the person, on another workspace and on the apex, is not refused outright either: the same
    # identity, so the same shield (a link), never a lock-out
    apex = await shielded("localhost", _address()).login(email, DEMO_PASSWORD)
    assert apex.status_code == 429
    assert "e-mailed you a link" in _error(apex)


async def test_guessing_in_a_workspace_where_the_address_is_no_member_slows_only_the_guesser(
    shielded: Any,
) -> None:
    """buyer@globex.test has no acme membership: failures for it on acme count against the
    guessing addresses only, so the person logs in to globex as ever, from anywhere."""
    email = "buyer@globex.test"
    await _guess_from_everywhere(shielded, "acme.localhost", email, 12)
    assert (await shielded("globex.localhost", _address()).login(email)).headers["location"] == "/"
    assert (await shielded("localhost", _address()).login(email)).headers["location"] == "/workspaces"


async def test_the_public_forms_have_a_ceiling_per_address(browser: Any) -> None:
    """No form anyone may send becomes a way to flood inboxes: past the per-minute ceiling one
    address gets 429, another is served as ever."""
    flooder = browser("acme.localhost")
    for attempt in range(PUBLIC_FORMS_PER_MINUTE):
        response = await flooder.post_form("/account/forgot-password", {"email": f"victim{attempt}@example.com"})
        assert response.status_code == 200
    assert (await flooder.post_form("/account/forgot-password", {"email": "one-more@example.com"})).status_code == 429
    assert (await flooder.login("admin@acme.test")).status_code == 429
    assert (await browser("acme.localhost").login("admin@acme.test")).status_code == 302
