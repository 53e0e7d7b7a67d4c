"""Statements tried against the walls inside one transaction, each in a savepoint rolled back at once.

One transaction per context instead of one per statement keeps a probe of every table in seconds.
The same statements run through both ways the app opens a transaction with a context: the ORM
session of `Database.transaction` and the bare asyncpg connection of `Database.read`.

What counts as the wall holding: PostgreSQL's insufficient_privilege (42501), which it raises for
a missing GRANT, a row-level security WITH CHECK, and the staff-decisions trigger alike — or a
statement that reaches no row. An integrity error (23xxx: unique, foreign key, not null, check)
comes only after the row passed RLS and the triggers, so it counts as "got through".
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

import asyncpg
from sqlalchemy import CursorResult, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.dev.demo import DemoTenant
from backend.kit.ids import new_id
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database
from tests.fixtures.transactions import rolled_back
from tests.isolation import catalog

INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class Outcome:
    rows: int = 0  # rows counted (SELECT count) or reached (INSERT, UPDATE, DELETE)
    state: str | None = None  # SQLSTATE when the statement failed
    message: str = ""

    @property
    def refused(self) -> bool:
        return self.state == INSUFFICIENT_PRIVILEGE

    @property
    def got_through(self) -> bool:
        """Past every wall: done, or stopped by an integrity rule checked after RLS."""
        return self.state is None or self.state.startswith("23")

    def reached(self, rows: int) -> bool:
        """Reached exactly these rows; a foreign key refusing the deletion of rows that others
        point to still means they were reached."""
        return (self.state is None and self.rows == rows) or (self.state == "23503" and rows > 0)

    def nothing(self) -> bool:
        """Reached no row, or was refused."""
        return self.refused or (self.state is None and self.rows == 0)

    def __str__(self) -> str:
        return f"{self.state}: {self.message.splitlines()[0]}" if self.state else f"{self.rows} rows"


class Runner:
    """Runs one statement at a time in a savepoint of the open transaction."""

    async def count(self, sql: str, **params: Any) -> Outcome:
        raise NotImplementedError

    async def execute(self, sql: str, **params: Any) -> Outcome:
        raise NotImplementedError


class SessionRunner(Runner):
    """Through the ORM session of Database.transaction, as services and pages run SQL."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _run(self, sql: str, params: dict[str, Any], *, count: bool) -> Outcome:
        await self.session.execute(text("SAVEPOINT probe"))
        try:
            result = await self.session.execute(text(sql), params)
            rows = int(result.scalar_one()) if count else cast(CursorResult[Any], result).rowcount
        except DBAPIError as error:
            outcome = Outcome(state=getattr(error.orig, "sqlstate", None), message=str(error.orig))
        else:
            outcome = Outcome(rows=rows)
        await self.session.execute(text("ROLLBACK TO SAVEPOINT probe"))
        await self.session.execute(text("RELEASE SAVEPOINT probe"))
        return outcome

    async def count(self, sql: str, **params: Any) -> Outcome:
        return await self._run(sql, params, count=True)

    async def execute(self, sql: str, **params: Any) -> Outcome:
        return await self._run(sql, params, count=False)


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class DriverRunner(Runner):
    """Through the asyncpg connection of Database.read, the hottest reads' path."""

    def __init__(self, driver: asyncpg.Connection) -> None:
        self.driver = driver

    async def _run(self, sql: str, params: dict[str, Any], *, count: bool) -> Outcome:
        names: list[str] = []

        def positional(match: re.Match[str]) -> str:
            names.append(match.group(1))
            return f"${len(names)}"

        statement = _NAMED.sub(positional, sql)
        arguments = [params[name] for name in names]
        await self.driver.execute("SAVEPOINT probe")
        try:
            if count:
                rows = int(await self.driver.fetchval(statement, *arguments))
            else:
                rows = int((await self.driver.execute(statement, *arguments)).split()[-1])
        except asyncpg.PostgresError as error:
            outcome = Outcome(state=error.sqlstate, message=str(error))
        else:
            outcome = Outcome(rows=rows)
        await self.driver.execute("ROLLBACK TO SAVEPOINT probe; RELEASE SAVEPOINT probe")
        return outcome

    async def count(self, sql: str, **params: Any) -> Outcome:
        return await self._run(sql, params, count=True)

    async def execute(self, sql: str, **params: Any) -> Outcome:
        return await self._run(sql, params, count=False)


@asynccontextmanager
async def _through_transaction(db: Database, context: TenantContext) -> AsyncIterator[Runner]:
    async with rolled_back(db, context) as session:
        yield SessionRunner(session)


@asynccontextmanager
async def _through_read(db: Database, context: TenantContext) -> AsyncIterator[Runner]:
    async with db.read(context) as driver:
        yield DriverRunner(driver)
        # a read transaction commits at the end: every statement above was rolled back already


PATHS: dict[str, Callable[[Database, TenantContext], AbstractAsyncContextManager[Runner]]] = {
    "transaction": _through_transaction,
    "read": _through_read,
}


@dataclass(frozen=True)
class Prober:
    """Who probes: a context, named, of a kind (a field of test_catalog_probe.Expect)."""

    name: str
    kind: str
    context: TenantContext

    def party_column(self, table: str, columns: set[str]) -> str | None:
        """The table's column that holds this supplier's or customer's own rows, if any."""
        kind = self.context.party_kind
        if kind not in (PartyKind.SUPPLIER, PartyKind.CUSTOMER):
            return None
        if catalog.PARTY_TABLES.get(table) == kind:
            return "id"
        column = catalog.PARTY_COLUMNS[kind]
        return column if column in columns else None


def probers(tenant: DemoTenant) -> list[Prober]:
    """Staff, the platform, and the two suppliers and two customers with portal users, each as
    its own demo person."""

    def party(kind: PartyKind, party_id: UUID, local: str) -> TenantContext:
        return TenantContext(tenant.id, kind, party_id, identity_id=tenant.identity(local))

    return [
        Prober(
            f"{tenant.slug} staff", "staff", TenantContext(tenant.id, PartyKind.STAFF, None, tenant.identity("buyer"))
        ),
        Prober(f"{tenant.slug} system", "system", TenantContext.system(tenant.id)),
        Prober(f"{tenant.slug} supplier A", "supplier", party(PartyKind.SUPPLIER, tenant.supplier_ids[0], "supplier")),
        Prober(f"{tenant.slug} supplier B", "supplier", party(PartyKind.SUPPLIER, tenant.supplier_ids[1], "supplier2")),
        Prober(f"{tenant.slug} customer A", "customer", party(PartyKind.CUSTOMER, tenant.customer_ids[0], "customer")),
        Prober(f"{tenant.slug} customer B", "customer", party(PartyKind.CUSTOMER, tenant.customer_ids[1], "customer2")),
    ]


def insert_copy(table: str) -> str:
    """INSERT of one row given as JSON (:row), whatever the table's columns."""
    return f"INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, CAST(:row AS json))"


async def row_of(
    owner: AsyncConnection, table: str, where: str = "true", order: str = "ctid", **params: Any
) -> dict[str, Any] | None:
    """One row of the table as the owner sees it (past RLS), as JSON values: the first by `order`."""
    found = await owner.scalar(
        text(f"SELECT row_to_json(t)::text FROM {table} t WHERE {where} ORDER BY {order} LIMIT 1"), params
    )
    return json.loads(found) if found is not None else None


def copy(row: dict[str, Any], **changes: UUID | str | None) -> str:
    """The row with a fresh id (so that only the walls, or an integrity rule, can object) and the
    given changes, as JSON for insert_copy."""
    record = dict(row)
    if "id" in record:
        record["id"] = str(new_id())
    record.update({column: str(value) if value is not None else None for column, value in changes.items()})
    return json.dumps(record)
