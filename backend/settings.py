"""Settings: the one typed object built from the environment, and the only reader of it."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Literal

Environment = Literal["development", "test", "production"]

# In production these must be set explicitly; anywhere else they have safe local defaults.
# DATABASE_APP_URL is required there because with only the owner's URL the server logs in as
# the owner and merely switches role, and a role switch can be undone by SQL (SET ROLE NONE).
# where `make run` (merkato serve) listens unless told otherwise
DEVELOPMENT_PORT = 8000
REQUIRED_IN_PRODUCTION = ("DATABASE_URL", "DATABASE_APP_URL", "MERKATO_SECRET_KEY", "BROKER_URL", "SMTP_URL")


class SettingsError(RuntimeError):
    """A configuration value is missing or malformed; the message is one line naming it."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment
    database_url: str | None
    database_app_url: str | None
    broker_url: str | None
    base_domain: str
    secret_key: str
    smtp_url: str | None
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    stripe_api_base: str | None
    billing_grace_days: int  # past_due keeps full access this long after the first failed payment
    data_dir: Path
    login_max_failures_per_hour: int  # failures on one e-mail, from anywhere, before a right password needs a link
    trusted_proxies: str  # uvicorn's forwarded_allow_ips: whose X-Forwarded-For names the client
    session_days: int
    api_token_minutes: int
    job_max_attempts: int
    job_retry_seconds: int
    job_republish_seconds: int
    pdf_timeout_seconds: int  # a PDF render still running after this is killed
    upload_max_bytes: int  # the largest document a supplier may upload
    # the port links in e-mails name outside production (production: https on the standard port,
    # behind the reverse proxy); `merkato serve --port` sets it for the server and its worker
    public_port: int | None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def request_max_body_bytes(self) -> int:
        """The largest request body: the largest upload and a megabyte for the rest of its form
        (the multipart envelope, the CSRF token, the document's type and dates)."""
        return self.upload_max_bytes + 1024 * 1024

    @property
    def billing_enabled(self) -> bool:
        return bool(self.stripe_secret_key)

    @property
    def billing_grace(self) -> timedelta:
        return timedelta(days=self.billing_grace_days)


def _dev_secret(data_dir: Path) -> str:
    """A per-checkout random key kept under the data directory, so dev sessions survive restarts."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env_vars = dict(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env_vars.get(name, "").strip()
        return value or None

    env = get("MERKATO_ENV") or "development"
    if env not in ("development", "test", "production"):
        raise SettingsError(f"MERKATO_ENV must be development, test or production, not {env!r}")
    if env == "production":
        for name in REQUIRED_IN_PRODUCTION:
            if not get(name):
                raise SettingsError(f"{name} is required when MERKATO_ENV=production")

    if get("STRIPE_SECRET_KEY") and not get("STRIPE_WEBHOOK_SECRET"):
        # without it no webhook can be verified, so no payment would ever reach a workspace
        raise SettingsError("STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set")
    data_dir = Path(get("MERKATO_DATA_DIR") or ".merkato").resolve()

    def integer(name: str, default: int) -> int:
        raw = get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None

    def positive(name: str, default: int) -> int:
        value = integer(name, default)
        if value < 1:
            raise SettingsError(f"{name} must be at least 1, not {value}")
        return value

    return Settings(
        env=env,  # type: ignore[arg-type]  # checked against the Literal above
        database_url=get("DATABASE_URL"),
        database_app_url=get("DATABASE_APP_URL"),
        broker_url=get("BROKER_URL"),
        base_domain=(get("MERKATO_BASE_DOMAIN") or "localhost").lower(),
        secret_key=get("MERKATO_SECRET_KEY") or _dev_secret(data_dir),
        smtp_url=get("SMTP_URL"),
        stripe_secret_key=get("STRIPE_SECRET_KEY"),
        stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET"),
        stripe_api_base=get("STRIPE_API_BASE"),
        billing_grace_days=integer("MERKATO_BILLING_GRACE_DAYS", 7),
        data_dir=data_dir,
        login_max_failures_per_hour=integer("MERKATO_LOGIN_MAX_FAILURES", 100),
        trusted_proxies=get("MERKATO_TRUSTED_PROXIES") or "127.0.0.1",
        session_days=integer("MERKATO_SESSION_DAYS", 14),
        api_token_minutes=integer("MERKATO_API_TOKEN_MINUTES", 15),
        job_max_attempts=integer("MERKATO_JOB_MAX_ATTEMPTS", 5),
        job_retry_seconds=integer("MERKATO_JOB_RETRY_SECONDS", 10),
        job_republish_seconds=integer("MERKATO_JOB_REPUBLISH_SECONDS", 60),
        pdf_timeout_seconds=positive("MERKATO_PDF_TIMEOUT_SECONDS", 30),
        upload_max_bytes=positive("MERKATO_UPLOAD_MAX_MB", 10) * 1024 * 1024,
        # development serves on 8000 (`make run`); tests name no port unless their server has one
        public_port=integer("MERKATO_PUBLIC_PORT", DEVELOPMENT_PORT if env == "development" else 0) or None,
    )


@cache
def get_settings() -> Settings:
    return load_settings()
