"""Four eyes on a supplier's sensitive data: bank account, legal name, tax id.

A change is proposed (by the supplier's people, or by staff typing it in for them) and waits as a
change request; the old values stay in force. Only a staff member whose role may decide supplier
changes (finance) decides, and never the person who asked for the change or typed the new data in:
`refusal_to_decide` says so for the service, the 360 page, and (its permission) the route's guard. Both the supplier's
people and the tenant's finance staff are told of every bank change, proposed and decided.

Call these in the acting person's own context: who proposes or decides is the context's person
(the audit trail and the request's rows name them from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.authz.principal import Principal
from backend.authz.roles import Permission, may
from backend.jobs.outbox import enqueue
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.models import (
    BankAccountStatus,
    ChangeKind,
    ChangeStatus,
    Membership,
    Supplier,
    SupplierBankAccount,
    SupplierChangeRequest,
)
from backend.suppliers.validation import BankAccountForm
from tenants.isolation import context_of

NOTIFY_CHANGE = "suppliers.notify_change"


# The labels are the enums'; these names stay for the supplier portal's company page until it
# asks the enums itself.


@dataclass(frozen=True, slots=True)
class BankDetails:
    """A bank account that passed validation (backend/suppliers/validation.py)."""

    holder: str
    account: str
    bic: str | None
    bank_name: str | None
    country: str

    @classmethod
    def of(cls, form: BankAccountForm) -> BankDetails:
        """The form's account, checked and written as it is stored; InvalidForm if it is wrong."""
        checked = form.normalised()
        return cls(
            holder=checked.holder,
            account=checked.iban_or_account,
            bic=checked.bic or None,
            bank_name=checked.bank_name or None,
            country=checked.country,
        )


def masked(account: str) -> str:
    """What the audit trail and e-mails show of an account number: its last four characters."""
    return f"…{account[-4:]}"


async def account_in_force(session: AsyncSession, supplier_id: UUID) -> SupplierBankAccount | None:
    found: SupplierBankAccount | None = await session.scalar(
        select(SupplierBankAccount).where(
            SupplierBankAccount.supplier_id == supplier_id, SupplierBankAccount.status == BankAccountStatus.ACTIVE
        )
    )
    return found


async def propose_bank_account(session: AsyncSession, supplier_id: UUID, details: BankDetails) -> SupplierChangeRequest:
    """A new account, pending until approved, typed in by the context's person."""
    account = SupplierBankAccount(
        id=new_id(),
        tenant_id=context_of(session).tenant_id,
        supplier_id=supplier_id,
        holder=details.holder,
        account=details.account,
        bic=details.bic,
        bank_name=details.bank_name,
        country=details.country,
        status=BankAccountStatus.PENDING,
        entered_by=context_of(session).identity_id,
    )
    session.add(account)
    return await _propose(session, supplier_id, ChangeKind.BANK_ACCOUNT, {"bank_account_id": str(account.id)})


async def propose_value(
    session: AsyncSession, supplier_id: UUID, kind: ChangeKind, value: str
) -> SupplierChangeRequest:
    """A new legal name or tax id (already validated), in force once approved."""
    field = {ChangeKind.LEGAL_NAME: "name", ChangeKind.TAX_ID: "tax_id"}[kind]
    return await _propose(session, supplier_id, kind, {field: value})


async def _propose(
    session: AsyncSession, supplier_id: UUID, kind: ChangeKind, proposed: dict[str, str]
) -> SupplierChangeRequest:
    context = context_of(session)
    request = SupplierChangeRequest(
        id=new_id(),
        tenant_id=context.tenant_id,
        supplier_id=supplier_id,
        kind=kind,
        proposed=proposed,
        status=ChangeStatus.PENDING,
        requested_by=context.identity_id,
    )
    session.add(request)
    await session.flush()
    await record(session, "supplier.change_requested", "supplier", supplier_id, after={"kind": kind})
    await enqueue(
        session,
        NOTIFY_CHANGE,
        key=f"change:{request.id}:requested",
        change_request_id=request.id,
        status=request.status,
    )
    return request


@dataclass(frozen=True, slots=True)
class ChangeAuthors:
    """Whom a change request comes from, none of whom may decide it: who asked for it, who typed
    the new data in (a bank account), and who gave the asker their access to the workspace (a
    staff member who made a supplier login must not approve what that login asks for)."""

    requested_by: UUID | None
    entered_by: UUID | None
    access_giver: UUID | None

    def __contains__(self, identity_id: object) -> bool:
        return identity_id is not None and identity_id in (self.requested_by, self.entered_by, self.access_giver)


def refusal_to_decide(decider: Principal, authors: ChangeAuthors) -> str | None:
    """Four eyes: why this person may not decide a change from these authors (None: they may).
    The route's guard checks the permission alone (it has no change in hand); the service and
    the 360 page ask this of the change itself."""
    if not may(decider, Permission.DECIDE_SUPPLIER_CHANGES):
        return Permission.DECIDE_SUPPLIER_CHANGES.refusal
    if decider.identity_id in authors:
        return _("Someone other than the person who asked for or entered this change must decide it.")
    return None


async def change_to_decide(session: AsyncSession, change_id: UUID) -> SupplierChangeRequest | None:
    """The change request, locked: two deciders at once decide one after the other."""
    change: SupplierChangeRequest | None = await session.scalar(
        select(SupplierChangeRequest).where(SupplierChangeRequest.id == change_id).with_for_update()
    )
    return change


async def decide(
    session: AsyncSession,
    request: SupplierChangeRequest,
    *,
    approve: bool,
    decider: Principal,
    reason: str = "",
) -> None:
    """Approve or reject a pending change. The decider is the context's own person (their roles are
    what four eyes asks of); refused (InvalidForm on "decision") unless they may (`refusal_to_decide`)."""
    if decider.identity_id != context_of(session).identity_id:
        raise ValueError("a change is decided in its decider's own context")
    # who may not decide any change is refused before this one's rows are read and locked (a
    # supplier's people may not lock them)
    if refusal := refusal_to_decide(decider, ChangeAuthors(None, None, None)):
        raise InvalidForm(FieldErrors(decision=refusal))
    errors = FieldErrors()
    entered_by = None
    if request.kind == ChangeKind.BANK_ACCOUNT:
        account = await _proposed_account(session, request)
        entered_by = account.entered_by
    authors = ChangeAuthors(request.requested_by, entered_by, await _access_giver(session, request))
    if request.status != ChangeStatus.PENDING:
        errors["decision"] = _("This change has been decided already.")
    elif refusal := refusal_to_decide(decider, authors):
        errors["decision"] = refusal
    elif approve and await _pending_of_kind(session, request, newer=True):
        # approving a stale request would replace what the supplier asked for since
        errors["decision"] = _("A newer request of the supplier replaces this one: decide that one.")
    if errors:
        raise InvalidForm(errors)
    supplier = await session.get(Supplier, (request.tenant_id, request.supplier_id), with_for_update=True)
    assert supplier is not None
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    if request.kind == ChangeKind.BANK_ACCOUNT:
        account = await _proposed_account(session, request)
        if approve:
            current = await account_in_force(session, request.supplier_id)
            if current is not None:
                current.status = BankAccountStatus.SUPERSEDED
                before["account"] = masked(current.account)
                await session.flush()  # one account in force at a time (a unique index says so)
            account.status = BankAccountStatus.ACTIVE
            after["account"] = masked(account.account)
        else:
            account.status = BankAccountStatus.REJECTED
    elif approve:
        field, value = next(iter(request.proposed.items()))
        before[field], after[field] = getattr(supplier, field), value
        setattr(supplier, field, value)
    request.status = ChangeStatus.APPROVED if approve else ChangeStatus.REJECTED
    request.decided_by, request.decided_at = decider.identity_id, datetime.now(UTC)
    request.reason = reason[:500] or None
    if approve:
        for stale in await _pending_of_kind(session, request, newer=False):
            # older requests of the same kind: this approval answers them (their accounts never apply)
            stale.status, stale.decided_by, stale.decided_at = (
                ChangeStatus.REJECTED,
                decider.identity_id,
                datetime.now(UTC),
            )
            stale.reason = _("Replaced by a later request that was approved.")
            if stale.kind == ChangeKind.BANK_ACCOUNT:
                (await _proposed_account(session, stale)).status = BankAccountStatus.REJECTED
            await record(
                session,
                "supplier.change_rejected",
                "supplier",
                stale.supplier_id,
                after={"kind": stale.kind, "reason": stale.reason},
            )
    await session.flush()
    action = "supplier.change_approved" if approve else "supplier.change_rejected"
    await record(session, action, "supplier", supplier.id, before=before, after=after)
    await enqueue(
        session, NOTIFY_CHANGE, key=f"change:{request.id}:decided", change_request_id=request.id, status=request.status
    )


async def _pending_of_kind(
    session: AsyncSession, request: SupplierChangeRequest, *, newer: bool
) -> list[SupplierChangeRequest]:
    """The supplier's other pending requests of the same kind: those made after this one
    (`newer`), or all of them, locked."""
    query = select(SupplierChangeRequest).where(
        SupplierChangeRequest.supplier_id == request.supplier_id,
        SupplierChangeRequest.kind == request.kind,
        SupplierChangeRequest.status == ChangeStatus.PENDING,
        SupplierChangeRequest.id != request.id,
    )
    if newer:
        query = query.where(
            tuple_(SupplierChangeRequest.created_at, SupplierChangeRequest.id)
            > tuple_(literal(request.created_at), literal(request.id))
        )
    return list(await session.scalars(query.with_for_update()))


async def _access_giver(session: AsyncSession, request: SupplierChangeRequest) -> UUID | None:
    """Who gave the requester their access to this workspace: a staff member who made a supplier
    login (or invited an address they read) must not approve what that login asks for."""
    if request.requested_by is None:
        return None
    giver: UUID | None = await session.scalar(
        select(Membership.created_by).where(
            Membership.tenant_id == request.tenant_id, Membership.identity_id == request.requested_by
        )
    )
    return giver


async def _proposed_account(session: AsyncSession, request: SupplierChangeRequest) -> SupplierBankAccount:
    """The account a bank change proposes — the request's own supplier's, or none at all: a request
    naming another supplier's account must never put that account in force."""
    account: SupplierBankAccount | None = await session.scalar(
        select(SupplierBankAccount)
        .where(
            SupplierBankAccount.id == UUID(request.proposed["bank_account_id"]),
            SupplierBankAccount.supplier_id == request.supplier_id,
        )
        .with_for_update()
    )
    if account is None:
        raise InvalidForm(FieldErrors(decision=_("This change names no bank account of this supplier.")))
    return account
