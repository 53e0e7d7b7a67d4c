"""Running Alembic from code: `merkato db upgrade|revision` and the test set-up share this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(owner_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # '%' must be escaped for ConfigParser interpolation (URL-encoded passwords contain it)
    config.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    return config


def upgrade(owner_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(owner_url), revision)


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002, …: the order is readable from the file names."""
    numbers = [int(path.name[:4]) for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


def revision(owner_url: str, message: str, *, autogenerate: bool = True) -> None:
    command.revision(alembic_config(owner_url), message=message, autogenerate=autogenerate, rev_id=next_revision_id())
