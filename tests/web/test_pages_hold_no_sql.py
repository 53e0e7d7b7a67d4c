"""Pages route, bind, call and render: no module under portals/ imports SQLAlchemy or builds a
query (`select(...)`); reads live in backend/<domain>/queries.py, rules in the domain's write
modules. The modules below still do, and are being moved by their own changes; each entry must
still be true (a module that stops holding SQL leaves the list, so it can never come back)."""

from __future__ import annotations

import ast
from pathlib import Path

PORTALS = Path(__file__).resolve().parents[2] / "portals"

STILL_HOLDING_SQL = {
    "portals/public/signup.py",
    "portals/shared/documents.py",
    "portals/supplier/company.py",
    "portals/supplier/document_upload.py",
    "portals/supplier/registration.py",
}


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
    assert holding == STILL_HOLDING_SQL
