"""Settings: production refuses to start on a missing value, and says which one in a single line —
both from load_settings and from the real `merkato` command, which must not show a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.settings import REQUIRED_IN_PRODUCTION, SettingsError, load_settings
from tenants.resolution import workspace_origin

PRODUCTION = {
    "MERKATO_ENV": "production",
    "DATABASE_URL": "postgresql://merkato@db.invalid/merkato",
    "DATABASE_APP_URL": "postgresql://merkato_web@db.invalid/merkato",
    "MERKATO_SECRET_KEY": "k" * 48,
    "BROKER_URL": "redis://broker.invalid:6379/0",
    "SMTP_URL": "smtp://mail.invalid:587",
}


def without(name: str, **extra: str) -> dict[str, str]:
    return {key: value for key, value in PRODUCTION.items() if key != name} | extra


def test_production_loads_when_everything_is_set(tmp_path: Path) -> None:
    settings = load_settings(PRODUCTION | {"MERKATO_DATA_DIR": str(tmp_path)})
    assert settings.production
    assert settings.database_url == PRODUCTION["DATABASE_URL"]
    assert settings.secret_key == PRODUCTION["MERKATO_SECRET_KEY"]


@pytest.mark.parametrize("name", REQUIRED_IN_PRODUCTION)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_production_names_the_missing_value(tmp_path: Path, name: str, value: str | None) -> None:
    environ = without(name, MERKATO_DATA_DIR=str(tmp_path))
    if value is not None:
        environ[name] = value

    with pytest.raises(SettingsError) as refused:
        load_settings(environ)

    message = str(refused.value)
    assert name in message
    assert "\n" not in message


def test_serve_in_production_without_database_url_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    merkato = Path(sys.executable).with_name("merkato")  # the console script installed beside this Python
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("MERKATO_", "DATABASE_"))}
    environ |= without("DATABASE_URL", MERKATO_DATA_DIR=str(tmp_path))

    done = subprocess.run([str(merkato), "serve"], env=environ, capture_output=True, text=True, timeout=120)

    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "DATABASE_URL" in line
    assert not any(tmp_path.iterdir())  # nothing started, nothing written


def test_billing_needs_the_webhook_secret_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings({"MERKATO_DATA_DIR": str(tmp_path), "STRIPE_SECRET_KEY": "sk_test_x"})
    on = load_settings(
        {"MERKATO_DATA_DIR": str(tmp_path), "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "w"}
    )
    assert on.billing_enabled
    assert not load_settings({"MERKATO_DATA_DIR": str(tmp_path)}).billing_enabled


def test_grace_period_is_a_setting(tmp_path: Path) -> None:
    assert load_settings({"MERKATO_DATA_DIR": str(tmp_path)}).billing_grace.days == 7
    assert load_settings({"MERKATO_DATA_DIR": str(tmp_path), "MERKATO_BILLING_GRACE_DAYS": "3"}).billing_grace.days == 3


def test_links_made_out_of_any_request_name_the_port_the_server_listens_on(tmp_path: Path) -> None:
    """The jobs' links (invitations, resets, registrations) lead to the server that queued them:
    `make run` serves on 8000, `merkato serve --port` names its own, production is https on 443."""
    data = {"MERKATO_DATA_DIR": str(tmp_path)}
    development = load_settings(data)
    assert workspace_origin(development, "acme") == "http://acme.localhost:8000"
    assert workspace_origin(development, None) == "http://localhost:8000"
    served = load_settings(data | {"MERKATO_PUBLIC_PORT": "9123"})
    assert workspace_origin(served, "acme") == "http://acme.localhost:9123"
    # a request's own host decides what its redirects name (the browser's port, never another)
    assert workspace_origin(served, "globex", seen_as="acme.localhost:8443", scheme="https") == (
        "https://globex.localhost:8443"
    )
    assert workspace_origin(served, "globex", seen_as="acme.localhost") == "http://globex.localhost"
    production = load_settings(
        PRODUCTION | data | {"MERKATO_BASE_DOMAIN": "merkato.example", "MERKATO_PUBLIC_PORT": "8000"}
    )
    assert workspace_origin(production, "acme") == "https://acme.merkato.example"
    assert workspace_origin(production, "acme", seen_as="evil.example:81") == "https://acme.merkato.example"
