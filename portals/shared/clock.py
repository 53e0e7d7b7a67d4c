"""Today on the workspace's clock: a document expires at the end of its last day there, whatever
the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tenants.directory import TenantInfo


def workspace_today(workspace: TenantInfo) -> date:
    return datetime.now(ZoneInfo(workspace.timezone)).date()
