"""Handlers take who is asking and on which host as typed dependencies (backend/dependencies.py:
`user: CurrentUser`, `workspace: Workspace`, `tenant: HostTenant`, `visitor: Visitor`,
`apex_identity: ApexIdentity`), never by reading the ASGI scope the middleware filled: an untyped
`request.scope["user"]` is whatever a test or a refactoring left there."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCOPE_KEYS = {"user", "state"}
SCOPE_READERS = {"tenant_of", "principal_of"}
# what renders every page, not a handler: the layout's globals and its subscription banner
TEMPLATE_GLOBALS = {"portals/shared/templating.py", "portals/shared/billing_notice.py"}


def _is_scope(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "scope"


def _reads_scope(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_scope(node.value):
            key = node.slice
            if isinstance(key, ast.Constant) and key.value in SCOPE_KEYS:
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            key = node.args[0] if node.args else None
            if _is_scope(node.func.value) and isinstance(key, ast.Constant) and key.value in SCOPE_KEYS:
                return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SCOPE_READERS:
            return True
    return False


def test_the_check_sees_scope_reads() -> None:
    assert _reads_scope('user = request.scope["user"]')
    assert _reads_scope('zone = request.scope["state"]["tenant"].timezone')
    assert _reads_scope('user = request.scope.get("user")')
    assert _reads_scope("tenant = tenant_of(request.scope)")
    assert _reads_scope("context = principal_of(request).context")
    assert not _reads_scope("async def home(db: Db, user: CurrentUser, workspace: Workspace) -> None: ...")
    assert not _reads_scope('headers = dict(scope.get("headers", ()))')


def test_no_handler_reads_the_scope() -> None:
    handler_modules = [
        *(ROOT / "portals").rglob("*.py"),
        *(ROOT / "backend").glob("*/controllers.py"),
    ]
    reading = {
        path.relative_to(ROOT).as_posix()
        for path in handler_modules
        if "node_modules" not in path.parts and _reads_scope(path.read_text())
    }
    assert reading - TEMPLATE_GLOBALS == set()
