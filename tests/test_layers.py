"""The layer contract (pyproject's [tool.importlinter], checked by `lint-imports` in `make lint`)
covers every package, and the development tools stay out of what production processes load."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layered_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [contract for contract in config["contracts"] if contract["type"] == "layers"]
    return {name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")}


def test_every_package_under_backend_has_a_layer() -> None:
    # a new package (or top-level module) that no layer names could import anything unchecked
    children = {
        f"backend.{path.stem}"
        for path in (ROOT / "backend").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py" and path.stem != "__init__")
    }
    assert children, "no packages found under backend/"
    assert children - layered_modules() == set()
    assert {"tenants", "portals"} <= layered_modules()


def test_production_processes_never_load_the_development_tools() -> None:
    # what `merkato serve` and `merkato worker` import: the app, the command, and every domain's jobs
    program = (
        "import sys, backend.app, backend.cli, backend.jobs.runtime\n"
        "from backend.jobs.broker import load_jobs\n"
        "load_jobs()\n"
        "print('\\n'.join(sorted(name for name in sys.modules if name.split('.')[:2] == ['backend', 'dev'])))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
