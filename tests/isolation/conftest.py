"""Fixtures of the isolation suites: rows in the tables the demo seed leaves empty."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.dev.demo import DemoData
from tenants.isolation import Database
from tests.fixtures.workflow import WorkflowRows, create_workflow_rows, remove_workflow_rows


@pytest.fixture(scope="module")
async def workflow_rows(db: Database, owner_engine: AsyncEngine, demo: DemoData) -> AsyncIterator[WorkflowRows]:
    """Outbox, audit, mail, notification, token and document rows in both tenants, for one module:
    tests/jobs counts the outbox rows its own jobs make."""
    rows = await create_workflow_rows(db, demo)
    yield rows
    await remove_workflow_rows(db, owner_engine, rows)
