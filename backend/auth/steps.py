"""Elevated steps: the one way request code acts without a user's own context.

Every request runs in its caller's own context (their tenant, party and identity), where RLS
decides what they may read and write. A few steps have no caller yet, or act on global tables no
tenant context reaches: logging in, redeeming a one-time link or login ticket, signing up, the
public supplier registration's first step (which creates the supplier and its first person), the
apex workspace chooser, and logging out. Those, and only those, open their transaction here, in
the platform's SYSTEM context of the workspace they happen in (None: the apex).

A test (tests/isolation/test_elevation.py) keeps `TenantContext.system` out of every other
module that serves requests, so an elevated step is always named and easy to find.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from tenants.context import TenantContext
from tenants.isolation import Database


def elevated_step(
    db: Database, workspace: UUID | None, *, acting_for: UUID | None = None
) -> AbstractAsyncContextManager[AsyncSession]:
    """A transaction of an anonymous step in `workspace` (None: the apex); `acting_for` names the
    identity the step already knows it acts for (the logged-in person at the apex), whose own
    rows (apex sessions, memberships across workspaces) it may then read."""
    return db.transaction(TenantContext.system(workspace, identity_id=acting_for))
