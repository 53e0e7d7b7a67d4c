"""Every migration revision carries its own SQL: one that imported live code (the policy helpers
that used to live in tenants/isolation.py, a role name from backend/) would change what an old
revision does whenever that code is edited, and a fresh database would no longer be built the
way the production one was."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REVISIONS = sorted((ROOT / "migrations" / "versions").glob("*.py"))
# the project's own packages (pyproject's wheel): what a revision must never import
PROJECT = frozenset(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
)


def imported_packages(source: str) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            packages.add(node.module.split(".")[0])
    return packages


def test_the_check_sees_a_project_import() -> None:
    assert imported_packages("from tenants.isolation import tenant_rls\nimport backend.kit.db") & PROJECT == {
        "tenants",
        "backend",
    }


@pytest.mark.parametrize("revision", REVISIONS, ids=lambda path: path.stem)
def test_a_revision_imports_nothing_of_the_project(revision: Path) -> None:
    assert imported_packages(revision.read_text()) & PROJECT == set()
