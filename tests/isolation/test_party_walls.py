"""The party write walls (migration 0007), attacked in raw SQL from a supplier's and a customer's
own context, as an app-level bug would let them through: every forbidden write fails and every
write the business allows a party works.

A party's people may keep their own record's contact and address fields, add contacts,
documents waiting for review, bank accounts and change requests waiting for a decision, audit
events naming themselves, and mark their notifications read. Status, risk, approval, the legal
name and tax id (four eyes), qualification, the account in force, review and decision fields,
and memberships' roles and access are staff's: refused with insufficient_privilege (a policy or
the staff-decisions trigger) or reaching no row (a policy filtering the rows).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.dev.demo import DemoData
from backend.kit.ids import new_id
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database, context_of
from tenants.numbering import next_number
from tests.fixtures.transactions import rolled_back
from tests.fixtures.workflow import WorkflowRows
from tests.isolation import catalog
from tests.isolation.probe import Outcome, Runner, SessionRunner
from tests.isolation.test_catalog_probe import EXPECTED

STAFF_DECISIONS = "keep_staff_decisions"  # the trigger function of migration 0007


@dataclass(frozen=True)
class Party:
    context: TenantContext
    party_id: UUID
    identity_id: UUID
    membership_id: UUID


@pytest.fixture
def supplier(demo: DemoData) -> Party:
    tenant = demo.acme
    context = TenantContext(tenant.id, PartyKind.SUPPLIER, tenant.supplier_ids[0], tenant.identity("supplier"))
    return Party(context, tenant.supplier_ids[0], tenant.identity("supplier"), tenant.membership("supplier"))


@pytest.fixture
def customer(demo: DemoData) -> Party:
    tenant = demo.acme
    context = TenantContext(tenant.id, PartyKind.CUSTOMER, tenant.customer_ids[0], tenant.identity("customer"))
    return Party(context, tenant.customer_ids[0], tenant.identity("customer"), tenant.membership("customer"))


@pytest.fixture
async def as_supplier(db: Database, supplier: Party, workflow_rows: WorkflowRows) -> AsyncIterator[Runner]:
    async with rolled_back(db, supplier.context) as session:
        yield SessionRunner(session)


@pytest.fixture
async def as_customer(db: Database, customer: Party, workflow_rows: WorkflowRows) -> AsyncIterator[Runner]:
    async with rolled_back(db, customer.context) as session:
        yield SessionRunner(session)


def _fails(outcome: Outcome) -> bool:
    return outcome.nothing()


def _works(outcome: Outcome, rows: int | None = None) -> bool:
    """Done, reaching `rows` rows (any, when None: other modules may have added some)."""
    return outcome.state is None and (outcome.rows == rows if rows is not None else outcome.rows > 0)


async def _refusals(runner: Runner, attempts: dict[str, tuple[str, dict[str, Any]]]) -> list[str]:
    """The attempts that got through: each is (sql, params), and must be refused or reach no row."""
    through = []
    for name, (sql, params) in attempts.items():
        outcome = await runner.execute(sql, **params)
        if not _fails(outcome):
            through.append(f"{name}: {outcome}")
    return through


def _row(tenant_id: UUID, **values: Any) -> dict[str, Any]:
    return {"tenant_id": str(tenant_id), "id": str(new_id()), "created_at": datetime.now(UTC).isoformat(), **values}


def _party_record(party: Party, number: str, country: str, currency: str) -> dict[str, Any]:
    """A supplier or customer record of the party's tenant, active from the start."""
    values = {"number": number, "name": "New", "country": country, "currency": currency, "status": "active"}
    return _row(party.context.tenant_id, **values)


def _event(tenant_id: UUID, identity_id: UUID | str, actor_kind: str) -> dict[str, Any]:
    return _row(
        tenant_id,
        identity_id=str(identity_id),
        actor_kind=actor_kind,
        action="probe",
        changes={},
        occurred_at=datetime.now(UTC).isoformat(),
    )


def _insert(table: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sql = f"INSERT INTO {table} SELECT * FROM json_populate_record(NULL::{table}, CAST(:row AS json))"
    return sql, {"row": json.dumps(row, default=str)}


# --- the supplier's own record and its people --------------------------------------------------

PROFILE = {
    "trading_name": "Huaqiang",
    "website": "https://example.com",
    "street": "1 Probe Road",
    "city": "Shenzhen",
    "postal_code": "518000",
    "email": "sales@example.com",
    "phone": "+86 755 0000",
}


async def test_a_supplier_keeps_its_profile(as_supplier: Runner, supplier: Party) -> None:
    for column, value in PROFILE.items():
        outcome = await as_supplier.execute(
            f"UPDATE suppliers SET {column} = :v WHERE id = :id", v=value, id=supplier.party_id
        )
        assert _works(outcome), (column, outcome)
    assignments = ", ".join(f"{column} = :{column}" for column in PROFILE)
    assert _works(await as_supplier.execute(f"UPDATE suppliers SET {assignments}", **PROFILE))


async def test_a_supplier_cannot_decide_about_itself(as_supplier: Runner, supplier: Party) -> None:
    decided = {
        "status": "blocked",
        "status_reason": "unblocked by ourselves",
        "risk_tier": "low",
        "risk_reason": "we say so",
        # four eyes: through a change request only
        "name": "Another Legal Name Ltd",
        "tax_id": "DE999999999",
        "number": "SUP-HIJACK",
        "currency": "EUR",
        "country": "DE",
        "terms_version": 99,
        "terms_accepted_at": datetime(2020, 1, 1, tzinfo=UTC),
    }
    through = await _refusals(
        as_supplier,
        {column: (f"UPDATE suppliers SET {column} = :v", {"v": value}) for column, value in decided.items()},
    )
    through += await _refusals(
        as_supplier,
        {
            "delete itself": ("DELETE FROM suppliers WHERE id = :id", {"id": supplier.party_id}),
            "create a supplier": _insert(
                "suppliers",
                _party_record(supplier, "SUP-NEW", "CN", "CNY"),
            ),
        },
    )
    # the status of each refusal is the privilege error, not a type or syntax error
    outcome = await as_supplier.execute("UPDATE suppliers SET status = 'blocked', city = 'Shenzhen'")
    assert outcome.refused, outcome
    assert "only staff decide suppliers." in outcome.message
    assert not through, through


async def _add(runner: Runner, sql: str, params: dict[str, Any]) -> Outcome:
    return await runner.execute(sql, **params)


async def _keep(runner: Runner, sql: str, **params: Any) -> None:
    """A step of a scenario whose effect the next steps need (the runner undoes each attempt)."""
    assert isinstance(runner, SessionRunner)
    await runner.session.execute(text(sql), params)


def _colleague(party: Party, identity_id: UUID | str, roles: list[str]) -> dict[str, Any]:
    return _row(
        party.context.tenant_id,
        identity_id=str(identity_id),
        kind="supplier",
        supplier_id=str(party.party_id),
        roles=roles,
        active=True,
        access_epoch=0,
    )


async def _new_identity(runner: Runner) -> str:
    """An unproven identity, as anyone may add one (the address proves itself later)."""
    identity_id = str(new_id())
    await _keep(
        runner,
        "INSERT INTO identities (id, email, full_name, credential_epoch) VALUES (:id, :email, 'Colleague', 0)",
        id=identity_id,
        email=f"colleague-{identity_id}@example.com",
    )
    return identity_id


async def test_a_supplier_admin_manages_its_own_people_and_nothing_more(
    as_supplier: Runner, supplier: Party, demo: DemoData
) -> None:
    """0010: the supplier's admin adds colleagues and changes their roles and access, in its own
    context; never makes anyone staff, moves them to another party, or swaps the person."""
    newcomer = await _new_identity(as_supplier)
    assert _works(await _add(as_supplier, *_insert("memberships", _colleague(supplier, newcomer, ["sales"]))), 1)
    sql, params = _insert("memberships", _colleague(supplier, newcomer, ["sales"]))
    await _keep(as_supplier, sql, **params)
    assert _works(
        await as_supplier.execute(
            "UPDATE memberships SET roles = ARRAY['accounting'], active = false WHERE identity_id = :id", id=newcomer
        ),
        1,
    )
    other_supplier = demo.acme.supplier_ids[1]
    through = await _refusals(
        as_supplier,
        {
            "make staff": (
                "UPDATE memberships SET kind = 'staff', supplier_id = NULL WHERE identity_id = :id",
                {"id": newcomer},
            ),
            "move to another supplier": (
                "UPDATE memberships SET supplier_id = :other WHERE identity_id = :id",
                {"id": newcomer, "other": other_supplier},
            ),
            "swap the person": (
                "UPDATE memberships SET identity_id = :me WHERE identity_id = :id",
                {"id": newcomer, "me": supplier.identity_id},
            ),
            "remove a colleague": ("DELETE FROM memberships", {}),
            "add to another supplier": _insert(
                "memberships", {**_colleague(supplier, newcomer, ["sales"]), "supplier_id": str(other_supplier)}
            ),
        },
    )
    assert not through, through


async def test_a_supplier_person_who_is_not_its_admin_changes_no_membership(
    db: Database, supplier: Party, demo: DemoData, workflow_rows: WorkflowRows, owner_engine: AsyncEngine
) -> None:
    # the same supplier, acted for by someone who is not its admin (staff's identity, as a bug
    # would name it): every membership write is refused
    context = TenantContext(
        supplier.context.tenant_id, PartyKind.SUPPLIER, supplier.party_id, demo.acme.identity("buyer")
    )
    async with rolled_back(db, context) as session:
        runner = SessionRunner(session)
        newcomer = await _new_identity(runner)
        through = await _refusals(
            runner,
            {
                "roles": (
                    "UPDATE memberships SET roles = ARRAY['admin'] WHERE id = :id",
                    {"id": supplier.membership_id},
                ),
                "access": ("UPDATE memberships SET active = false WHERE id = :id", {"id": supplier.membership_id}),
                "add a colleague": _insert("memberships", _colleague(supplier, newcomer, ["admin"])),
            },
        )
    assert not through, through
    async with owner_engine.connect() as owner:
        roles = await owner.scalar(text("SELECT roles FROM memberships WHERE id = :id"), {"id": supplier.membership_id})
    assert roles == ["admin"]


async def test_a_party_asks_for_work_but_never_reads_or_changes_the_tenants_jobs(
    as_supplier: Runner, as_customer: Runner, supplier: Party, customer: Party, owner_engine: AsyncEngine
) -> None:
    """0010: the outbox takes a party's job (INSERT); the party reads back only its own."""
    runner_context = {as_supplier: supplier.context, as_customer: customer.context}
    for runner in (as_supplier, as_customer):
        job = _row(
            supplier.context.tenant_id,
            actor="documents.render",
            args={},
            key=f"probe:{new_id()}",
            run_at=datetime.now(UTC).isoformat(),
            status="pending",
            attempts=0,
        )
        sql = (
            "INSERT INTO outbox (tenant_id, id, actor, args, key, run_at, status, attempts)"
            " VALUES (:tenant_id, :id, :actor, CAST(:args AS jsonb), :key, now(), :status, :attempts)"
            " ON CONFLICT (tenant_id, key) DO NOTHING"
        )
        params = {name: job[name] for name in ("tenant_id", "id", "actor", "key", "status", "attempts")}
        assert _works(await runner.execute(sql, args="{}", **params), 1)
        await _keep(runner, sql, args="{}", **params)
        mine = await runner.count("SELECT count(*) FROM outbox")
        async with owner_engine.connect() as owner:
            asked = await owner.scalar(
                text("SELECT count(*) FROM outbox WHERE tenant_id = :t AND requested_by = :i"),
                {"t": runner_context[runner].tenant_id, "i": runner_context[runner].identity_id},
            )
        # its own jobs (the one just added, which the owner cannot see yet); none of the tenant's
        assert mine.rows == asked + 1, mine
        other_work = {**params, "id": str(new_id()), "key": f"probe:{new_id()}", "actor": "billing.apply_stripe_event"}
        through = await _refusals(
            runner,
            {
                "run it": ("UPDATE outbox SET status = 'done'", {}),
                "drop it": ("DELETE FROM outbox", {}),
                # only the jobs a party's own steps need (0012)
                "ask for other work": (sql, {"args": "{}", **other_work}),
            },
        )
        assert not through, through


async def test_a_party_takes_its_own_numbers_and_reads_no_other_counter(
    as_supplier: Runner, as_customer: Runner
) -> None:
    """0011: a counter keyed `party.…` is one a party numbers its own documents with; how many
    suppliers or customers the tenant has (the other counters) stays out of its sight."""
    # (a key each: both fixtures' transactions are open at once, and a number taken locks its row)
    for runner, key in ((as_supplier, "party.probe.supplier"), (as_customer, "party.probe.customer")):
        assert isinstance(runner, SessionRunner)
        numbers = [await next_number(runner.session, key, "PRB") for _ in range(2)]
        first = int(numbers[0].rsplit("-", 1)[1])
        assert numbers[1] == f"PRB-{first + 1:05d}"
        seen = await runner.count("SELECT count(*) FROM counters WHERE key NOT LIKE 'party.%'")
        assert seen.rows == 0, seen
        through = await _refusals(
            runner,
            {
                "take a supplier number": (
                    "INSERT INTO counters (tenant_id, key, value) VALUES (:t, 'supplier', 1)"
                    " ON CONFLICT (tenant_id, key) DO UPDATE SET value = counters.value + 1",
                    {"t": str(context_of(runner.session).tenant_id)},
                ),
                "drop its own counter": ("DELETE FROM counters", {}),
            },
        )
        assert not through, through


async def test_a_supplier_adds_a_category_that_starts_pending(
    as_supplier: Runner, supplier: Party, owner_engine: AsyncEngine
) -> None:
    async with owner_engine.connect() as owner:
        category = await owner.scalar(
            text(
                "SELECT c.id FROM supplier_categories c WHERE c.tenant_id = :tenant AND NOT EXISTS ("
                " SELECT FROM supplier_qualifications q WHERE q.category_id = c.id AND q.supplier_id = :supplier)"
            ),
            {"tenant": supplier.context.tenant_id, "supplier": supplier.party_id},
        )
    assert category is not None, "the demo needs a category the supplier does not supply yet"
    row = _row(supplier.context.tenant_id, supplier_id=str(supplier.party_id), category_id=str(category))
    qualified = {**row, "status": "qualified"}
    assert not await _refusals(as_supplier, {"start qualified": _insert("supplier_qualifications", qualified)})
    assert _works(await _add(as_supplier, *_insert("supplier_qualifications", {**row, "status": "pending"})), 1)


async def test_a_supplier_asks_for_documents_about_itself_only(as_supplier: Runner, supplier: Party) -> None:
    document = _row(
        supplier.context.tenant_id,
        kind="supplier_summary",
        object_type="supplier",
        object_id=str(supplier.party_id),
        supplier_id=str(supplier.party_id),
        locale="en",
        status="pending",
        filename="summary.pdf",
        content_type="application/pdf",
    )
    through = await _refusals(
        as_supplier,
        {
            "about another supplier": _insert(
                "documents", {**document, "id": str(new_id()), "object_id": str(new_id())}
            ),
            "already rendered": _insert(
                "documents", {**document, "id": str(new_id()), "storage_key": "x", "status": "ready"}
            ),
        },
    )
    assert not through, through
    assert _works(await _add(as_supplier, *_insert("documents", document)), 1)


async def test_a_customer_keeps_its_contact_details_and_nothing_else(as_customer: Runner, customer: Party) -> None:
    assert _works(await as_customer.execute("UPDATE customers SET email = 'buying@example.com', phone = '+1 555 0100'"))
    through = await _refusals(
        as_customer,
        {
            **{
                column: (f"UPDATE customers SET {column} = :v", {"v": value})
                for column, value in {
                    "status": "blocked",
                    "name": "Renamed Corp",
                    "number": "CUS-X",
                    "currency": "EUR",
                    "country": "DE",
                }.items()
            },
            "delete itself": ("DELETE FROM customers", {}),
            "create a customer": _insert(
                "customers",
                _party_record(customer, "CUS-NEW", "US", "USD"),
            ),
            "a membership's roles": ("UPDATE memberships SET roles = ARRAY['admin']", {}),
        },
    )
    assert not through, through


# --- what a supplier may add, only as it starts ------------------------------------------------


# What a supplier adds, as its own person: (the columns it fills in, the column naming who did)
DOCUMENT = (
    {
        "document_type": "iso_9001",
        "version": 900,
        "filename": "iso.pdf",
        "storage_key": "probe/iso.pdf",
        "mime_type": "application/pdf",
        "size": 1,
        "sha256": "0" * 64,
    },
    "uploaded_by",
)
BANK_ACCOUNT = {"holder": "Huaqiang", "account": "DE89370400440532013000", "country": "DE"}, "entered_by"
CHANGE = {"kind": "legal_name", "proposed": {"name": "New Name Ltd"}}, "requested_by"


def _own(party: Party, what: tuple[dict[str, Any], str], **values: Any) -> dict[str, Any]:
    """A row the supplier's person adds for the supplier, with these values besides."""
    columns, person = what
    own = {"supplier_id": str(party.party_id), person: str(party.identity_id)}
    return _row(party.context.tenant_id, **own, **columns, **values)


async def test_a_supplier_adds_what_waits_for_staff(as_supplier: Runner, supplier: Party) -> None:
    tenant_id = supplier.context.tenant_id
    allowed = {
        "a document waiting for review": _insert(
            "supplier_documents", _own(supplier, DOCUMENT, status="pending_review")
        ),
        "a bank account waiting for approval": _insert(
            "supplier_bank_accounts", _own(supplier, BANK_ACCOUNT, status="pending")
        ),
        "a change request waiting for a decision": _insert(
            "supplier_change_requests", _own(supplier, CHANGE, status="pending")
        ),
        "a contact": _insert("supplier_contacts", _row(tenant_id, supplier_id=str(supplier.party_id), name="Li Lei")),
        "an audit event naming itself": _insert(
            "audit_events",
            _event(tenant_id, supplier.identity_id, "supplier"),
        ),
    }
    for name, (sql, params) in allowed.items():
        outcome = await as_supplier.execute(sql, **params)
        assert _works(outcome), (name, outcome)
    # its contacts are its own to keep
    assert _works(await as_supplier.execute("UPDATE supplier_contacts SET title = 'Sales'"))
    assert _works(await as_supplier.execute("DELETE FROM supplier_contacts"))


async def test_a_supplier_cannot_add_anything_already_decided(as_supplier: Runner, supplier: Party) -> None:
    tenant_id = supplier.context.tenant_id
    staff_identity = str(new_id())
    through = await _refusals(
        as_supplier,
        {
            "an approved document": _insert("supplier_documents", _own(supplier, DOCUMENT, status="approved")),
            "a reviewed document": _insert(
                "supplier_documents", _own(supplier, DOCUMENT, status="pending_review", reviewed_by=staff_identity)
            ),
            "a document reminded already": _insert(
                "supplier_documents",
                _own(supplier, DOCUMENT, status="pending_review", reminded_7_at="2026-01-01T00:00:00Z"),
            ),
            "the bank account in force": _insert(
                "supplier_bank_accounts", _own(supplier, BANK_ACCOUNT, status="active")
            ),
            "an approved change": _insert("supplier_change_requests", _own(supplier, CHANGE, status="approved")),
            "a decided change": _insert(
                "supplier_change_requests", _own(supplier, CHANGE, status="pending", decided_by=staff_identity)
            ),
            "a change with a reason": _insert(
                "supplier_change_requests", _own(supplier, CHANGE, status="pending", reason="ok")
            ),
            "an audit event of staff": _insert(
                "audit_events",
                _event(tenant_id, supplier.identity_id, "staff"),
            ),
            "an audit event naming someone else": _insert(
                "audit_events",
                _event(tenant_id, staff_identity, "supplier"),
            ),
            "a registration": _insert(
                "supplier_registrations", _row(tenant_id, supplier_id=str(supplier.party_id), status="approved")
            ),
            "a qualification": _insert(
                "supplier_qualifications",
                _row(tenant_id, supplier_id=str(supplier.party_id), category_id=str(new_id()), status="qualified"),
            ),
            "a notification": _insert(
                "notifications",
                _row(
                    tenant_id,
                    membership_id=str(supplier.membership_id),
                    supplier_id=str(supplier.party_id),
                    title="t",
                    body="",
                ),
            ),
            "a generated document": _insert(
                "documents",
                _row(
                    tenant_id,
                    kind="supplier_summary",
                    object_type="supplier",
                    object_id=str(supplier.party_id),
                    supplier_id=str(supplier.party_id),
                    locale="en",
                    status="ready",
                    filename="x.pdf",
                    content_type="application/pdf",
                    storage_key="documents/elsewhere.pdf",
                ),
            ),
        },
    )
    assert not through, through


async def test_a_supplier_cannot_decide_what_waits_for_staff(as_supplier: Runner) -> None:
    """Its own rows, already there (tests/fixtures/workflow.py): staff review, approve and decide."""
    through = await _refusals(
        as_supplier,
        {
            "approve its document": ("UPDATE supplier_documents SET status = 'approved'", {}),
            "remove its document": ("DELETE FROM supplier_documents", {}),
            "activate its bank account": ("UPDATE supplier_bank_accounts SET status = 'active'", {}),
            "approve its change": ("UPDATE supplier_change_requests SET status = 'approved'", {}),
            "approve its registration": (
                "UPDATE supplier_registrations SET status = 'approved', decided_at = now()",
                {},
            ),
            "submit its registration": ("UPDATE supplier_registrations SET status = 'submitted'", {}),
            "qualify itself": ("UPDATE supplier_qualifications SET status = 'qualified'", {}),
            "drop a qualification": ("DELETE FROM supplier_qualifications", {}),
            "point its PDF elsewhere": ("UPDATE documents SET storage_key = 'documents/elsewhere.pdf'", {}),
            "remove its PDF": ("DELETE FROM documents", {}),
        },
    )
    assert not through, through


async def test_a_party_reads_its_notifications_and_nothing_else(as_supplier: Runner, as_customer: Runner) -> None:
    for runner in (as_supplier, as_customer):
        read = await runner.execute("UPDATE notifications SET read_at = now() WHERE read_at IS NULL")
        assert _works(read), read
        changes = {
            "title": "'Your account is blocked'",
            "body": "'Pay to this account instead'",
            "link": "'https://evil.example'",
            "membership_id": "NULL",
            "created_at": "now() - interval '1 year'",
        }
        through = await _refusals(
            runner,
            {column: (f"UPDATE notifications SET {column} = {value}", {}) for column, value in changes.items()}
            | {"remove": ("DELETE FROM notifications", {})},
        )
        assert not through, through


async def test_no_party_writes_the_tenants_catalogs(as_supplier: Runner, as_customer: Runner, supplier: Party) -> None:
    tenant_id = supplier.context.tenant_id
    for runner in (as_supplier, as_customer):
        through = await _refusals(
            runner,
            {
                "a price": ("UPDATE items SET list_price = 0", {}),
                "an item": _insert(
                    "items", _row(tenant_id, sku=f"X-{new_id()}", name="x", unit="pc", list_price=1, currency="USD")
                ),
                "remove items": ("DELETE FROM items", {}),
                "a category": _insert("supplier_categories", _row(tenant_id, code=f"c-{new_id()}", name="c")),
                "rename categories": ("UPDATE supplier_categories SET name = 'x'", {}),
                "a requirement gone": ("DELETE FROM document_requirements", {}),
                "new terms": _insert("supplier_terms", _row(tenant_id, version=999, body="whatever we like")),
            },
        )
        assert not through, through


# --- the trigger's columns, reviewed ------------------------------------------------------------

# Columns a party may set in the rows it edits or adds, where the staff-decisions trigger guards
# the rest. Keys and the party column are guarded by the tenant and party policies.
PARTY_WRITABLE: dict[str, set[str]] = {
    "suppliers": {"tenant_id", "id", *PROFILE},
    "customers": {"tenant_id", "id", "email", "phone"},
    "notifications": {"tenant_id", "id", "read_at"},
    "supplier_documents": {
        "tenant_id", "id", "supplier_id", "created_at", "document_type", "version", "filename", "storage_key",
        "mime_type", "size", "sha256", "issued_on", "expires_on", "uploaded_by",
    },
    "supplier_bank_accounts": {
        "tenant_id", "id", "supplier_id", "created_at", "holder", "account", "bic", "bank_name", "country",
        "entered_by",
    },
    "supplier_change_requests": {"tenant_id", "id", "supplier_id", "created_at", "kind", "proposed", "requested_by"},
    # a party asks for a document about itself (0010); the render job fills in the rest
    "documents": {
        "tenant_id", "id", "kind", "object_type", "object_id", "supplier_id", "customer_id", "locale", "filename",
        "content_type", "created_at",
    },
    # a category the supplier supplies (0010); its standing is computed by platform code
    "supplier_qualifications": {"tenant_id", "id", "created_at", "supplier_id", "category_id"},
}  # fmt: skip
# A supplier's legal details, which its registrant still sets while the registration is open and
# only staff change afterwards (the registrant_draft trigger of 0010, not the staff-decisions one).
REGISTRANT_SETS = {"suppliers": {"name", "country", "tax_id", "currency", "terms_accepted_at", "terms_version"}}
# Tables a party may write without the trigger: every column of a contact is the supplier's own,
# and audit events a party adds are bound to its person and kind by policies (own_actions, own_kind).
# Memberships are a supplier admin's to write, bound to its own party and people by party_scope
# and the party_admin trigger (0010).
# Outbox rows a party adds are jobs it asks for (0010): read back only by their requester.
FREELY_WRITTEN = {"supplier_contacts", "audit_events", "memberships", "outbox"}


async def _guarded(owner: AsyncConnection) -> dict[str, set[str]]:
    """Table -> columns (without start values) its staff-decisions trigger names."""
    rows = await owner.execute(
        text(
            "SELECT c.relname, encode(t.tgargs, 'escape') FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = :function AND NOT t.tgisinternal"
        ),
        {"function": STAFF_DECISIONS},
    )
    return {table: {spec.split("=", 1)[0] for spec in arguments.split("\\000") if spec} for table, arguments in rows}


async def test_every_column_a_party_can_reach_is_reviewed(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as owner:
        guarded = await _guarded(owner)
        columns: dict[str, set[str]] = {}
        for table, column in await owner.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = ANY(:tables)"
            ),
            {"tables": sorted(PARTY_WRITABLE)},
        ):
            columns.setdefault(table, set()).add(column)
    assert set(guarded) == set(PARTY_WRITABLE)
    for table, writable in PARTY_WRITABLE.items():
        # a new column is neither: it must be decided about here (and in the migration's trigger)
        assert columns[table] - writable - guarded[table] - REGISTRANT_SETS.get(table, set()) == set(), table
        assert writable & guarded[table] == set(), table
        assert writable <= columns[table], table
    # every table a party may update or add to (the probe's entries) is one of these
    party_writes = {
        table
        for table, expect in EXPECTED.items()
        if table not in catalog.GLOBAL_TABLES
        and any(set(cell.partition(" ")[2]) & {"I", "U"} for cell in (expect.supplier, expect.customer))
    }
    # (the probe copies a rendered document, which no party may add: the pending request a party
    # may add is tested above, in test_a_supplier_asks_for_documents_about_itself_only)
    assert party_writes | {"documents"} == set(PARTY_WRITABLE) | FREELY_WRITTEN
