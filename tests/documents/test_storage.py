"""Local document storage: keys are tenant-namespaced ids, nothing else gets in or out, and the
files live where the settings say (outside the web root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.documents.storage import LocalStorage, StorageKeyError, document_key, storage_from
from backend.kit.ids import new_id
from backend.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


async def test_put_get_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    tenant_id, document_id = new_id(), new_id()
    key = document_key(tenant_id, document_id)

    await storage.put(key, b"%PDF-1.7 first")
    await storage.put(key, b"%PDF-1.7 second")  # a retried job replaces its own file

    assert key == f"{tenant_id}/{document_id}.pdf"
    assert await storage.get(key) == b"%PDF-1.7 second"
    assert (tmp_path / str(tenant_id) / f"{document_id}.pdf").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / str(tenant_id)).iterdir()] == [f"{document_id}.pdf"]
    await storage.delete(key)
    with pytest.raises(FileNotFoundError):
        await storage.get(key)


@pytest.mark.parametrize(
    "key",
    [
        "../secret.pdf",
        "/etc/passwd",
        f"{new_id()}/../../secret.pdf",
        f"{new_id()}/sub/dir.pdf",
        f"{new_id()}/.hidden.pdf",
        "not-a-tenant/x.pdf",
        f"{new_id()}/x.pdf\n",
    ],
)
async def test_refuses_keys_it_would_never_make(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(StorageKeyError):
        await storage.put(key, b"x")
    with pytest.raises(StorageKeyError):
        await storage.get(key)


async def test_refuses_a_tenant_directory_that_leads_elsewhere(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "documents", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    tenant_id = new_id()
    (root / str(tenant_id)).symlink_to(elsewhere)
    with pytest.raises(StorageKeyError):
        await LocalStorage(root).put(document_key(tenant_id, new_id()), b"x")
    assert list(elsewhere.iterdir()) == []


def test_lives_under_the_data_directory_outside_the_web_root(tmp_path: Path) -> None:
    storage = storage_from(load_settings({"MERKATO_DATA_DIR": str(tmp_path), "MERKATO_SECRET_KEY": "k" * 48}))
    assert isinstance(storage, LocalStorage)
    assert storage.root == (tmp_path / "documents").resolve()
    # the default data directory is .merkato in the working directory, not under portals/
    default = storage_from(load_settings({"MERKATO_SECRET_KEY": "k" * 48}))
    assert isinstance(default, LocalStorage)
    assert not default.root.is_relative_to(REPO / "portals")
