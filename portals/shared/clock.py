"""Today on the workspace's clock: a document expires at the end of its last day there, whatever
the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request


def workspace_today(request: Request[Any, Any, Any]) -> date:
    return datetime.now(ZoneInfo(request.scope["state"]["tenant"].timezone)).date()
