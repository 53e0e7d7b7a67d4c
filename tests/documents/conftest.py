"""Documents tests: the web stack (pages and downloads), and the worker's settings pointed at the
web app's data directory, so that what the render job stores is what the download route reads,
as on a real deployment where workers and web servers share MERKATO_DATA_DIR."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.settings import Settings, get_settings
from tests.web.conftest import app, browser  # noqa: F401  (the web stack, for the pages and downloads)


@pytest.fixture
def shared_data_dir(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:  # noqa: F811
    """MERKATO_DATA_DIR = the web app's, as the worker reads it (get_settings(), read afresh)."""
    web: Settings = app.apps_with_lifespan[1].state.settings
    monkeypatch.setenv("MERKATO_DATA_DIR", str(web.data_dir))
    get_settings.cache_clear()
    assert get_settings().data_dir == web.data_dir
    yield web
    monkeypatch.undo()
    get_settings.cache_clear()
