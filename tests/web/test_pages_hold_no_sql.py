"""Pages route, bind, call and render: no module under portals/ imports SQLAlchemy or builds a
query (`select(...)`); reads live in backend/<domain>/queries.py, rules in the domain's write
modules. Ruff's banned-API rule (portals/ruff.toml) refuses the import as it is typed; this test
also catches a `select(` that reaches a page some other way."""

from __future__ import annotations

import ast
from pathlib import Path

PORTALS = Path(__file__).resolve().parents[2] / "portals"


def _holds_sql(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "sqlalchemy" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "select":
            return True
    return False


def test_the_check_sees_sql() -> None:
    assert _holds_sql("from sqlalchemy.ext.asyncio import AsyncSession")
    assert _holds_sql("import sqlalchemy as sa")
    assert _holds_sql("query = select(Supplier)")
    assert not _holds_sql("from backend.parties.queries import search_suppliers")


def test_no_page_module_holds_sql() -> None:
    holding = {
        path.relative_to(PORTALS.parent).as_posix()
        for path in PORTALS.rglob("*.py")
        if "node_modules" not in path.parts and _holds_sql(path.read_text())
    }
    assert holding == set()
