"""Where rendered documents' bytes live: a small Storage interface and the local-directory one.

The local directory is settings.data_dir/documents, outside the web root, so nothing there can
ever be served as a static file; the only way out is the download route, which checks the
caller first. Keys are made by the code from ids (tenant id first), never from anything a user
typed, and LocalStorage still refuses any key that could leave its directory.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol
from uuid import UUID

from backend.settings import Settings

# tenant-id/name.ext: the only shape of key this code makes
_KEY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[A-Za-z0-9_-]{1,100}\.[a-z0-9]{1,8}$")


class StorageKeyError(ValueError):
    """A key that this code would never make: refused before touching any file."""


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError if there are none."""
        ...

    async def delete(self, key: str) -> None: ...


def document_key(tenant_id: UUID, document_id: UUID, extension: str = "pdf") -> str:
    """The storage key of a document: namespaced by its tenant, named by its id."""
    return f"{tenant_id}/{document_id}.{extension}"


class LocalStorage:
    """Files in one directory on this machine (workers and web servers must share it)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise StorageKeyError(f"not a storage key: {key!r}")
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):  # a symlinked tenant directory, say
            raise StorageKeyError(f"storage key leaves the storage directory: {key!r}")
        return path

    def _write(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # write then rename: a reader never sees half a file, and a retried job just replaces it
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.chmod(0o600)
        partial.replace(path)

    def _remove(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path_of(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._remove, key)


def storage_from(settings: Settings) -> Storage:
    return LocalStorage(settings.data_dir / "documents")
