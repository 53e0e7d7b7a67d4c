"""Every answer carries the security headers, over HTTP through the whole stack: apex and workspace
pages, the API, a static file, a 404, a redirect, the unknown-workspace page; HSTS only in
production; `form-action` names the hosts our forms really lead to (workspaces, the apex, Stripe).

Beside it, a lint over the page templates: no inline script, no event-handler attribute, no
style attribute, which the policy would refuse in the browser (tests/browser watches it live)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import create_app
from backend.settings import Settings, load_settings
from portals.shared.templating import TEMPLATE_DIRS
from tenants.isolation import Database
from tenants.resolution import HostDispatcher

BASE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def policy_of(response: httpx.Response) -> dict[str, str]:
    """The one site-wide Content-Security-Policy of the response, directive -> sources."""
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1, policies
    directives = [part.strip().split(" ", 1) for part in policies[0].split(";")]
    return dict(directives)


def assert_hardened(response: httpx.Response, *, hsts: bool = False) -> None:
    policy = policy_of(response)
    assert {name: policy.get(name) for name in BASE_POLICY} == BASE_POLICY, policy
    assert policy["form-action"].startswith("'self' ")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    if hsts:
        assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    else:
        assert "strict-transport-security" not in response.headers


async def _answers(app: HostDispatcher, scheme: str, domain: str) -> AsyncIterator[tuple[str, httpx.Response]]:
    async def get(host: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{scheme}://{host}") as client:
            return await client.get(path, **kwargs)

    apex, acme = domain, f"acme.{domain}"
    yield "apex page", await get(apex, "/login")
    yield "apex chooser redirect", await get(apex, "/workspaces")
    yield "workspace page", await get(acme, "/login")
    yield "workspace redirect", await get(acme, "/suppliers")
    yield "API", await get(acme, "/api/v1/suppliers")
    yield "API schema", await get(acme, "/api/v1/schema/openapi.json")
    yield "static file", await get(acme, "/static/app.css")
    yield "apex static file", await get(apex, "/static/vendor/htmx.min.js")
    yield "404", await get(acme, "/no/such/page")
    yield "API 404", await get(acme, "/api/v1/no-such-thing")
    yield "405", await get(acme, "/logout")
    yield "unknown workspace", await get(f"nowhere.{domain}", "/")
    yield "health check", await get(apex, "/healthz")


async def test_every_kind_of_answer_carries_the_headers(app: HostDispatcher) -> None:
    seen = {}
    async for what, response in _answers(app, "http", "localhost"):
        seen[what] = response.status_code
        assert_hardened(response)
    # each kind was what it says it is
    assert seen["apex page"] == seen["workspace page"] == seen["API schema"] == seen["static file"] == 200
    assert seen["apex chooser redirect"] in (302, 303)
    assert seen["workspace redirect"] in (302, 303)
    assert seen["API"] == 401
    assert seen["404"] == seen["API 404"] == seen["unknown workspace"] == 404
    assert seen["405"] == 405


async def test_form_action_lets_the_chooser_and_logout_cross_hosts_in_development(app: HostDispatcher) -> None:
    """The demo and the tests run on a port of their own: any port of the apex and its workspaces
    (billing is off in this app, so no Stripe)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
        response = await client.get("/login")
    assert policy_of(response)["form-action"] == "'self' localhost:* *.localhost:*"


def _production(tmp_path: Path, **extra: str) -> Settings:
    return load_settings(
        {
            "MERKATO_ENV": "production",
            "MERKATO_BASE_DOMAIN": "merkato.example",
            "MERKATO_SECRET_KEY": "production-test-secret-key-with-enough-entropy-0123456789",
            "MERKATO_DATA_DIR": str(tmp_path),
            # required in production, never reached: the database is the test's, no mail is sent
            "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",
            "DATABASE_APP_URL": "postgresql://unused@127.0.0.1:1/unused",
            "BROKER_URL": "redis://127.0.0.1:1/0",
            "SMTP_URL": "smtp://127.0.0.1:1",
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("stripe", "expected"),
    [
        ({}, "'self' https://merkato.example https://*.merkato.example"),
        (
            {"STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"},
            "'self' https://merkato.example https://*.merkato.example https://checkout.stripe.com https://billing.stripe.com",
        ),
        (
            {
                "STRIPE_SECRET_KEY": "sk_test_x",
                "STRIPE_WEBHOOK_SECRET": "whsec_x",
                "STRIPE_API_BASE": "http://127.0.0.1:12111/",
            },
            "'self' https://merkato.example https://*.merkato.example https://checkout.stripe.com "
            "https://billing.stripe.com http://127.0.0.1:12111",
        ),
    ],
    ids=["billing-off", "stripe", "another-stripe-base"],
)
async def test_production_adds_hsts_and_names_only_https_hosts(
    db: Database, tmp_path: Path, stripe: dict[str, str], expected: str
) -> None:
    app = create_app(_production(tmp_path, **stripe), database=db)
    async for _what, response in _answers(app, "https", "merkato.example"):
        assert_hardened(response, hsts=True)
        assert policy_of(response)["form-action"] == expected


# --- no inline script or style in any page -----------------------------------------------------------

# <script> without src (a JSON block included: it is not a script the policy must allow, but a
# data- attribute read by the static script is the one way the pages pass data, kept so)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
_STYLE = re.compile(r"(<style\b|\sstyle\s*=)", re.IGNORECASE)
_JS_URL = re.compile(r"javascript:", re.IGNORECASE)


def _page_templates() -> list[Path]:
    return sorted(path for directory in TEMPLATE_DIRS for path in directory.rglob("*.html"))


def test_no_page_template_has_inline_script_or_style() -> None:
    templates = _page_templates()
    assert len(templates) > 30, templates  # the portals' templates were found
    found = [
        f"{path.relative_to(path.parents[2])}: {match.group(0).strip()}"
        for path in templates
        for pattern in (_INLINE_SCRIPT, _HANDLER, _STYLE, _JS_URL)
        for match in pattern.finditer(path.read_text())
    ]
    assert not found, found


def test_the_lint_finds_what_it_looks_for() -> None:
    hostile = [
        "<script>alert(1)</script>",
        '<script type="application/json">{}</script>',
        '<button onclick="go()">',
        '<div style="color: red">',
        "<style>p {}</style>",
        '<a href="javascript:go()">',
    ]
    for text in hostile:
        assert any(p.search(text) for p in (_INLINE_SCRIPT, _HANDLER, _STYLE, _JS_URL)), text
    assert not any(p.search('<script src="/static/app.js" defer></script>') for p in (_INLINE_SCRIPT, _HANDLER))
