"""Four eyes on a supplier's bank account, legal name and tax id: the old account stays in force
until a finance person other than the requester and the one who typed it in approves; everyone
concerned is e-mailed; a supplier's people see only their own supplier's requests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

import pytest
from sqlalchemy import func, select, update

from backend.accounts.service import PersonForm, add_person
from backend.authz.principal import Principal
from backend.jobs.broker import load_jobs
from backend.kit.forms import InvalidForm
from backend.kit.ids import new_id
from backend.models import (
    AuditEvent,
    BankAccountStatus,
    ChangeKind,
    MembershipKind,
    OutgoingMail,
    Supplier,
    SupplierBankAccount,
    SupplierChangeRequest,
    TenantStatus,
)
from backend.parties.service import PartyForm, create_supplier
from backend.suppliers.changes import BankDetails, account_in_force, decide, propose_bank_account, propose_value
from tenants.context import PartyKind, TenantContext
from tenants.directory import create_tenant
from tenants.isolation import Database
from tests.fixtures.jobs import drain


@dataclass(frozen=True)
class People:
    tenant_id: UUID
    supplier_id: UUID
    other_supplier_id: UUID
    principals: dict[str, Principal]  # each person as a request of theirs names them
    emails: dict[str, str]

    @property
    def system(self) -> TenantContext:
        return TenantContext.system(self.tenant_id)

    def own(self, who: str) -> TenantContext:
        """The person's own context, as their requests run in it."""
        return self.principals[who].context

    def identity(self, who: str) -> UUID:
        return self.principals[who].identity_id


@pytest.fixture(scope="module")
async def people(db: Database) -> People:
    load_jobs()
    tenant_id = new_id()
    slug = f"fe-{secrets.token_hex(3)}"
    principals, emails = {}, {}
    async with db.transaction(TenantContext.system(tenant_id)) as session:
        await create_tenant(session, slug=slug, name="Four Eyes Buyer", tenant_id=tenant_id, status=TenantStatus.ACTIVE)
        supplier = await create_supplier(session, PartyForm(name="Old Name GmbH", country="DE", currency="EUR"))
        other = await create_supplier(session, PartyForm(name="Other Supplier", country="CN", currency="CNY"))
        for local, kind, staff_roles, party in (
            ("finance1", MembershipKind.STAFF, ["finance"], None),
            ("finance2", MembershipKind.STAFF, ["finance"], None),
            ("buyer", MembershipKind.STAFF, ["buyer"], None),
            ("supplier", MembershipKind.SUPPLIER, [], supplier.id),
            ("other", MembershipKind.SUPPLIER, [], other.id),
        ):
            email = f"{local}@{slug}.test"
            form = PersonForm(email=email, full_name=local.title(), roles=staff_roles)
            membership = await add_person(session, form, kind=kind, supplier_id=party)
            principals[local] = Principal(
                tenant_id=tenant_id,
                identity_id=membership.identity_id,
                membership_id=membership.id,
                kind=kind.value,
                party_id=party,
                roles=frozenset(staff_roles),
                email=email,
                name=local.title(),
            )
            emails[local] = email
    return People(tenant_id, supplier.id, other.id, principals, emails)


DE = BankDetails(
    holder="Old Name GmbH", account="DE89370400440532013000", bic="COBADEFFXXX", bank_name=None, country="DE"
)
NEW = BankDetails(
    holder="Old Name GmbH", account="DE02120300000000202051", bic="BYLADEM1001", bank_name=None, country="DE"
)


async def _refusal(db: Database, people: People, request_id: UUID, who: str, *, approve: bool = True) -> str:
    async def attempt() -> None:
        await _decide(db, people, request_id, who, approve=approve)

    with pytest.raises(InvalidForm) as refused:
        await attempt()
    return refused.value.errors["decision"]


async def _decide(db: Database, people: People, request_id: UUID, who: str, *, approve: bool) -> None:
    async with db.transaction(people.own(who)) as session:
        request = await session.get(SupplierChangeRequest, (people.tenant_id, request_id))
        assert request is not None
        await decide(session, request, approve=approve, decider=people.principals[who])


async def _trail(db: Database, people: People, action: str) -> list[UUID | None]:
    """Who the audit trail names for each of the supplier's events of this kind, oldest first."""
    async with db.transaction(people.system) as session:
        return list(
            await session.scalars(
                select(AuditEvent.identity_id)
                .where(AuditEvent.object_id == people.supplier_id, AuditEvent.action == action)
                .order_by(AuditEvent.occurred_at)
            )
        )


async def _in_force(db: Database, people: People) -> str | None:
    async with db.transaction(people.system) as session:
        account = await account_in_force(session, people.supplier_id)
        return account.account if account else None


async def test_a_bank_change_needs_a_second_finance_person(db: Database, people: People) -> None:
    # the first account: proposed by the supplier, approved by finance
    async with db.transaction(people.own("supplier")) as session:
        first = await propose_bank_account(session, people.supplier_id, DE)
    await _decide(db, people, first.id, "finance1", approve=True)
    assert await _in_force(db, people) == DE.account
    assert (first.requested_by, await _trail(db, people, "supplier.change_requested")) == (
        people.identity("supplier"),
        [people.identity("supplier")],
    )

    # finance1 types in a new account for the supplier: not in force, and finance1 cannot approve it
    async with db.transaction(people.own("finance1")) as session:
        change = await propose_bank_account(session, people.supplier_id, NEW)
    assert await _in_force(db, people) == DE.account
    assert "Someone other than" in await _refusal(db, people, change.id, "finance1")
    assert "Only a member of finance" in await _refusal(db, people, change.id, "buyer")
    assert "Only a member of finance" in await _refusal(db, people, change.id, "supplier")
    assert await _in_force(db, people) == DE.account
    await _decide(db, people, change.id, "finance2", approve=True)
    assert await _in_force(db, people) == NEW.account
    assert "decided already" in await _refusal(db, people, change.id, "finance2")
    assert await _trail(db, people, "supplier.change_approved") == [
        people.identity("finance1"),
        people.identity("finance2"),
    ]
    async with db.transaction(people.system) as session:
        statuses = sorted(
            (
                await session.execute(
                    select(SupplierBankAccount.account, SupplierBankAccount.status).where(
                        SupplierBankAccount.supplier_id == people.supplier_id
                    )
                )
            )
            .tuples()
            .all()
        )
    assert statuses == [(NEW.account, "active"), (DE.account, "superseded")]


async def test_the_person_who_typed_it_in_cannot_approve_it(db: Database, people: People) -> None:
    """finance2 enters the account on the supplier's behalf, the supplier is the requester: finance2
    entered the data, so only finance1 may approve."""
    async with db.transaction(people.own("supplier")) as session:
        change = await propose_bank_account(session, people.supplier_id, DE)
    async with db.transaction(people.system) as session:
        # the account as finance2 would have typed it in for the supplier
        await session.execute(
            update(SupplierBankAccount)
            .where(SupplierBankAccount.id == UUID(change.proposed["bank_account_id"]))
            .values(entered_by=people.identity("finance2"))
        )
    assert "Someone other than" in await _refusal(db, people, change.id, "finance2")
    await _decide(db, people, change.id, "finance1", approve=False)
    assert await _in_force(db, people) == NEW.account  # rejected: nothing changed


async def test_legal_name_and_tax_id_change_only_when_approved(db: Database, people: People) -> None:
    async with db.transaction(people.own("supplier")) as session:
        name = await propose_value(session, people.supplier_id, ChangeKind.LEGAL_NAME, "New Name AG")
        tax = await propose_value(session, people.supplier_id, ChangeKind.TAX_ID, "DE136695976")
    async with db.transaction(people.system) as session:
        supplier = await session.get(Supplier, (people.tenant_id, people.supplier_id))
        assert supplier is not None
        assert (supplier.name, supplier.tax_id) == ("Old Name GmbH", None)
    await _decide(db, people, name.id, "finance1", approve=True)
    await _decide(db, people, tax.id, "finance2", approve=False)
    async with db.transaction(people.system) as session:
        supplier = await session.get(Supplier, (people.tenant_id, people.supplier_id))
        assert supplier is not None
        assert (supplier.name, supplier.tax_id) == ("New Name AG", None)
        approvals = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.object_id == people.supplier_id, AuditEvent.action == "supplier.change_approved")
        )
    assert approvals == 3  # two bank accounts and the name


async def test_the_supplier_and_finance_hear_of_every_bank_change(db: Database, people: People) -> None:
    await drain(db, [people.tenant_id])
    async with db.transaction(people.system) as session:
        mails = list(
            (
                await session.execute(
                    select(OutgoingMail.to_address, OutgoingMail.subject).where(
                        OutgoingMail.template == "supplier_change"
                    )
                )
            ).tuples()
        )
    told = {address for address, _subject in mails}
    assert {people.emails["supplier"], people.emails["finance1"], people.emails["finance2"]} <= told
    assert people.emails["buyer"] not in told
    assert people.emails["other"] not in told  # another supplier's people hear nothing of it
    bank_subjects = [s for a, s in mails if a == people.emails["supplier"] and "bank account" in s]
    assert any("requested" in s for s in bank_subjects)
    assert any("approved" in s for s in bank_subjects)
    assert any("rejected" in s for s in bank_subjects)


async def test_a_supplier_sees_only_its_own_requests(db: Database, people: People) -> None:
    own = TenantContext(
        tenant_id=people.tenant_id,
        party_kind=PartyKind.SUPPLIER,
        party_id=people.other_supplier_id,
        identity_id=people.identity("other"),
    )
    async with db.transaction(own) as session:
        seen = await session.scalar(select(func.count()).select_from(SupplierChangeRequest))
        accounts = await session.scalar(select(func.count()).select_from(SupplierBankAccount))
    assert (seen, accounts) == (0, 0)


async def test_nobody_approves_what_a_login_they_handed_out_asked_for(db: Database, people: People) -> None:
    """finance2 makes a supplier login (as staff may) and, through it, proposes an account: the
    request is that login's, but finance2 gave the access, so finance2 cannot approve it."""
    staff_context = people.own("finance2")
    email = f"puppet-{secrets.token_hex(3)}@example.test"
    async with db.transaction(staff_context) as session:
        puppet = await add_person(
            session,
            PersonForm(email=email, full_name="Puppet"),
            kind=MembershipKind.SUPPLIER,
            supplier_id=people.supplier_id,
        )
    assert puppet.created_by == people.identity("finance2")
    puppet_context = TenantContext(
        people.tenant_id,
        PartyKind.SUPPLIER,
        people.supplier_id,
        identity_id=puppet.identity_id,
        membership_id=puppet.id,
    )
    async with db.transaction(puppet_context) as session:
        change = await propose_bank_account(session, people.supplier_id, NEW)
    assert change.requested_by == puppet.identity_id
    assert "Someone other than" in await _refusal(db, people, change.id, "finance2")
    await _decide(db, people, change.id, "finance1", approve=False)  # another finance person may


async def test_a_stale_bank_request_cannot_replace_a_newer_one(db: Database, people: People) -> None:
    """The supplier enters account A (a typo), then B. A cannot be approved while B waits; B's
    approval answers A, which never applies."""
    typo = BankDetails(holder="Other Supplier", account="CN-6222-0001", bic=None, bank_name=None, country="CN")
    right = BankDetails(holder="Other Supplier", account="CN-6222-0002", bic=None, bank_name=None, country="CN")
    async with db.transaction(people.own("other")) as session:
        first = await propose_bank_account(session, people.other_supplier_id, typo)
    async with db.transaction(people.own("other")) as session:
        second = await propose_bank_account(session, people.other_supplier_id, right)
    assert "newer request" in await _refusal(db, people, first.id, "finance1")
    await _decide(db, people, second.id, "finance1", approve=True)
    async with db.transaction(people.system) as session:
        stale = await session.get(SupplierChangeRequest, (people.tenant_id, first.id))
        assert stale is not None
        assert (stale.status, stale.reason) == ("rejected", "Replaced by a later request that was approved.")
        account = await account_in_force(session, people.other_supplier_id)
        assert account is not None
        assert account.account == right.account
        stale_account = await session.get(
            SupplierBankAccount, (people.tenant_id, UUID(stale.proposed["bank_account_id"]))
        )
        assert stale_account is not None
        assert stale_account.status == "rejected"


async def test_a_request_naming_another_suppliers_account_puts_nothing_in_force(db: Database, people: People) -> None:
    """A change request is the supplier's own (its people may add one): one that names another
    supplier's proposed account is refused, and that account stays where it was."""
    async with db.transaction(people.system) as session:
        in_force = await account_in_force(session, people.other_supplier_id)
    async with db.transaction(people.own("other")) as session:
        theirs = await propose_bank_account(session, people.other_supplier_id, NEW)
    async with db.transaction(people.own("supplier")) as session:
        forged = await propose_bank_account(session, people.supplier_id, DE)
    async with db.transaction(people.system) as session:
        # as a supplier writing its own request row would
        await session.execute(
            update(SupplierChangeRequest)
            .where(SupplierChangeRequest.id == forged.id)
            .values(proposed=dict(theirs.proposed))
        )
    assert "no bank account of this supplier" in await _refusal(db, people, forged.id, "finance1")
    async with db.transaction(people.system) as session:
        account = await session.get(SupplierBankAccount, (people.tenant_id, UUID(theirs.proposed["bank_account_id"])))
        assert account is not None
        assert account.status == BankAccountStatus.PENDING
        after = await account_in_force(session, people.other_supplier_id)
        assert (after.id if after else None) == (in_force.id if in_force else None)


async def test_a_change_is_decided_only_in_its_deciders_own_context(db: Database, people: People) -> None:
    """The decider the service is handed is who the trail names: it must be the context's person."""
    async with db.transaction(people.own("supplier")) as session:
        change = await propose_value(session, people.supplier_id, ChangeKind.TAX_ID, "DE811569869")

    async def in_someone_elses_name() -> None:
        async with db.transaction(people.own("finance2")) as session:
            request = await session.get(SupplierChangeRequest, (people.tenant_id, change.id))
            assert request is not None
            await decide(session, request, approve=True, decider=people.principals["finance1"])

    with pytest.raises(ValueError, match="own context"):
        await in_someone_elses_name()
    async with db.transaction(people.system) as session:
        request = await session.get(SupplierChangeRequest, (people.tenant_id, change.id))
        assert request is not None
        assert request.status == "pending"
