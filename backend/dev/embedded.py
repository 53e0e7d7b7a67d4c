"""The embedded PostgreSQL of `make run`: a real server from the pgserver wheel, so a laptop with
only Python gets the same database (RLS, roles, migrations) as production without installing one.

The cluster lives under MERKATO_DATA_DIR/pgdata and survives restarts. It listens on a unix socket
only (no TCP port to collide with), and pgserver stops it when the last process using it exits, so
it runs exactly as long as the `merkato` command that needed it.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backend.kit.db import to_async_url

DATABASE = "merkato"
OWNER = "postgres"


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded server, make sure database `merkato` exists, return its owner URL.

    The URL has the form postgresql://postgres@/merkato?host=/socket/dir, which asyncpg (through
    SQLAlchemy) and Alembic both accept.
    """
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL under {data_dir} is not listening on a unix socket")
    host = quote(str(socket_dir), safe="/")
    asyncio.run(_ensure_database(f"postgresql://{OWNER}@/postgres?host={host}"))
    return f"postgresql://{OWNER}@/{DATABASE}?host={host}"


async def _ensure_database(maintenance_url: str) -> None:
    # CREATE DATABASE cannot run inside a transaction block.
    engine = create_async_engine(to_async_url(maintenance_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    finally:
        await engine.dispose()
