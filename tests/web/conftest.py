"""The whole web stack in-process (host dispatcher, both Litestar apps, real database), and a
small cookie-keeping client per host that speaks forms with CSRF tokens like a browser does."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.dev.demo import DEMO_PASSWORD
from backend.settings import Settings, load_settings
from tenants.isolation import Database
from tenants.resolution import HostDispatcher

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def web_settings(data_dir: Path, **environment: str) -> Settings:
    """Settings of an in-process app for these tests; `environment` adds or overrides variables."""
    return load_settings(
        {
            "MERKATO_ENV": "test",
            "MERKATO_SECRET_KEY": "test-secret-key-with-enough-entropy-0123456789",
            "MERKATO_DATA_DIR": str(data_dir),
            **environment,
        }
    )


@pytest.fixture(scope="session")
def app(db: Database, demo: Any, tmp_path_factory: pytest.TempPathFactory) -> HostDispatcher:
    settings = web_settings(tmp_path_factory.mktemp("data"))
    # No lifespan: pytest-asyncio finalises session fixtures in another task, which anyio's
    # cancel scopes inside Litestar's lifespan refuse; nothing here needs start-up hooks.
    return create_app(settings, database=db)


class Browser:
    """One host, one cookie jar; `post_form` adds the CSRF token the way a rendered form would."""

    def __init__(self, app: HostDispatcher, host: str, client: str | None = None) -> None:
        self.host = host
        # the address the requests come from: each browser its own place unless told (throttling
        # counts per address, and one test's wrong passwords must not slow down another's logins)
        client = client or f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        transport = httpx.ASGITransport(app=app, client=(client, 40000))
        self.client = httpx.AsyncClient(transport=transport, base_url=f"http://{host}")

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)

    async def csrf_token(self) -> str:
        token = self.client.cookies.get("csrftoken")
        if token is None:
            page = await self.client.get("/login")
            match = CSRF_FIELD.search(page.text)
            assert match, "the login page carries a CSRF field"
            token = self.client.cookies.get("csrftoken")
        assert token
        return token

    async def post_form(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> httpx.Response:
        payload: dict[str, Any] = dict(data or {})
        if csrf:
            payload["_csrf_token"] = await self.csrf_token()
        return await self.client.post(path, data=payload)

    async def login(self, email: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        return await self.post_form("/login", {"email": email, "password": password})

    async def aclose(self) -> None:
        await self.client.aclose()


@pytest.fixture
async def browser(app: HostDispatcher) -> AsyncIterator[Any]:
    """browser("acme.localhost", client="10.1.2.3") -> a fresh Browser; all are closed after the test."""
    opened: list[Browser] = []

    def make(host: str = "acme.localhost", client: str | None = None) -> Browser:
        opened.append(Browser(app, host, client))
        return opened[-1]

    yield make
    for b in opened:
        await b.aclose()


async def api_token(app: HostDispatcher, email: str, host: str = "acme.localhost") -> str:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{host}") as client:
        response = await client.post("/api/v1/token", json={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


async def enter_from_apex(apex: Browser, tenant: Browser, slug: str) -> httpx.Response:
    """Follow the chooser's way into a workspace the way a browser does, across the two hosts
    (each Browser keeps its own host's cookies): the workspace host sets its binding cookie, the
    apex issues a ticket bound to it, the workspace host redeems it. The last response."""
    enter = await tenant.get("/auth/enter")
    assert enter.status_code in (302, 303), enter.text
    ticket = await apex.get(_path_on(enter.headers["location"], apex.host))
    if ticket.status_code not in (302, 303):
        return ticket
    return await tenant.get(_path_on(ticket.headers["location"], tenant.host))


def _path_on(location: str, host: str) -> str:
    prefix = f"http://{host}"
    assert location.startswith(prefix), f"{location} does not lead to {host}"
    return location.removeprefix(prefix)
