"""The review queue of supplier registrations (backend/suppliers/queries.review_queue): each row's
completeness comes with the page in a fixed number of SQL statements, however many rows there
are; each row's count of gaps is what the registration rule (`missing`) says; another tenant's
registrations never show."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import event

from backend.kit.ids import new_id
from backend.kit.pagination import PageRequest
from backend.models import RegistrationStatus, SupplierRegistration, TenantStatus
from backend.parties.service import PartyForm, create_supplier
from backend.suppliers.qualification import create_category, require_document, supply_category
from backend.suppliers.queries import review_queue
from backend.suppliers.registration import add_contact, missing
from backend.suppliers.setup import publish_terms
from tenants.context import PartyKind, TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database

TODAY = date(2027, 3, 1)
N = 4


@dataclass(frozen=True)
class Buyer:
    tenant_id: UUID
    category_id: UUID

    @property
    def system(self) -> TenantContext:
        return TenantContext.system(self.tenant_id)

    @property
    def staff(self) -> TenantContext:
        return TenantContext(tenant_id=self.tenant_id, party_kind=PartyKind.STAFF)


async def _buyer(db: Database, name: str) -> Buyer:
    tenant_id = new_id()
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(
            session,
            slug=f"rq-{secrets.token_hex(3)}",
            name=name,
            tenant_id=tenant_id,
            status=TenantStatus.ACTIVE,
        )
        category = await create_category(session, "ELEC", "Electronic parts")
        await require_document(session, category, "iso_9001", "ISO 9001 certificate")
        await require_document(session, category, "business_licence", "Business licence")
        await publish_terms(session, "Our supplier terms, version 1.", publisher=None)
    return Buyer(tenant_id, category.id)


def _gaps(index: int) -> int:
    """What the `index`th registration of `_submit` lacks: the terms and a bank account always; a
    contact unless the index is a multiple of 3; the category if the index is odd, else its two
    documents."""
    return 2 + (index % 3 != 0) + (1 if index % 2 else 2)


async def _submit(db: Database, buyer: Buyer, count: int) -> list[int]:
    """`count` submitted registrations lacking different things; how many things each lacks."""
    async with db.transaction(buyer.system) as session:
        for index in range(count):
            form = PartyForm(name=f"Queue {secrets.token_hex(4)} GmbH", country="DE", currency="EUR")
            supplier = await create_supplier(session, form)
            registration = SupplierRegistration(
                tenant_id=buyer.tenant_id, supplier_id=supplier.id, status=RegistrationStatus.DRAFT
            )
            session.add(registration)
            await session.flush()
            if index % 3 == 0:
                await add_contact(session, registration, name="Karl Kontakt", email="karl@queue.test")
            if index % 2 == 0:
                await supply_category(session, supplier.id, buyer.category_id, today=TODAY)
            # sent for review as it is: the queue shows what reviewers are asked to look at anyway
            registration.status = RegistrationStatus.SUBMITTED
    return [_gaps(index) for index in range(count)]


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends while the block runs."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def _read_queue(db: Database, buyer: Buyer) -> tuple[list[int], int]:
    """(each row's count of gaps, the statements the page took), the page read as staff read it."""
    async with db.transaction(buyer.staff) as session:
        with _statements(db) as sent:
            page = await review_queue(session, PageRequest(size=100), status=RegistrationStatus.SUBMITTED, text="")
        for row in page.items:  # the rule, asked the slow way, row by row: the queue says the same
            assert row.missing == len(await missing(session, row.registration))
    return [row.missing for row in page.items], len(sent)


async def test_the_queue_reads_its_rows_and_their_gaps_in_a_fixed_number_of_statements(db: Database) -> None:
    buyer, other = await _buyer(db, "Queue Buyer"), await _buyer(db, "Other Buyer")
    await _submit(db, other, N)  # another tenant's queue, which must stay out of this one's
    expected = await _submit(db, buyer, N)
    gaps, statements = await _read_queue(db, buyer)
    assert gaps == expected  # oldest first: in the order they were submitted
    expected += await _submit(db, buyer, 2 * N)
    gaps_three_times, statements_three_times = await _read_queue(db, buyer)
    assert gaps_three_times == expected
    assert len(gaps_three_times) == 3 * N
    assert statements_three_times == statements <= 2  # the count, and the page with its gaps
