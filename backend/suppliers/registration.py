"""A supplier's registration with a tenant, and its review.

The state machine is TRANSITIONS: a draft is submitted once complete; the reviewer approves,
rejects (the record stays, read-only) or asks for more information, which the supplier gives and
resubmits. Any other move is refused with IllegalTransition (a 409 for the pages). Approval
activates the supplier and its people; the bank account it registered still needs finance's
approval (four eyes, backend/suppliers/changes.py) before payments may use it.

Each step runs in its caller's own context: staff review in theirs; the registrant saves and
submits the draft in theirs (`as_registrant`: their supplier's party, as them), where RLS lets
them write only their own draft (migration 0010). Only the step that creates the supplier from a
proved address is an elevated one. Invitations by staff are backend/suppliers/invitations.py.

Nothing is created for an address before it proves itself: the public form only e-mails a link
(`request`), and the supplier, its draft and the registrant's membership are made when the link
is used (`start_from_link`), so nobody can register someone else's address, or squat it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor, record
from backend.auth import links
from backend.jobs.outbox import enqueue
from backend.kit.errors import Conflict
from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import gettext as _
from backend.kit.ids import new_id
from backend.models import (
    DocumentRequirement,
    Identity,
    LinkPurpose,
    Membership,
    MembershipKind,
    RegistrationStatus,
    Supplier,
    SupplierCategory,
    SupplierChangeRequest,
    SupplierContact,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
    SupplierRegistration,
    SupplierTerms,
)
from backend.models.change_request import ChangeKind, ChangeStatus
from backend.models.party import PartyStatus
from backend.suppliers.qualification import supply_category
from backend.suppliers.setup import current_terms
from backend.suppliers.validation import tax_id
from tenants.billing.entitlements import ensure_room
from tenants.billing.plans import Limit
from tenants.context import PartyKind, TenantContext
from tenants.isolation import Database, context_of
from tenants.numbering import next_number

NOTIFY_REGISTRATION = "suppliers.notify_registration"

# (state, action) -> next state; everything else is illegal
TRANSITIONS: dict[tuple[str, str], RegistrationStatus] = {
    (RegistrationStatus.DRAFT, "submit"): RegistrationStatus.SUBMITTED,
    (RegistrationStatus.INFO_REQUESTED, "submit"): RegistrationStatus.SUBMITTED,
    (RegistrationStatus.SUBMITTED, "approve"): RegistrationStatus.APPROVED,
    (RegistrationStatus.SUBMITTED, "reject"): RegistrationStatus.REJECTED,
    (RegistrationStatus.SUBMITTED, "request_info"): RegistrationStatus.INFO_REQUESTED,
}
EDITABLE = frozenset({RegistrationStatus.DRAFT, RegistrationStatus.INFO_REQUESTED})


class IllegalTransition(Conflict):
    """A step the registration's state does not allow (`action`: a TRANSITIONS action, "edited"
    or "invite"); the message is for the person who tried it."""

    def __init__(self, status: str, action: str) -> None:
        super().__init__(
            _("This registration is now “%(status)s”: that step is not possible any more.")
            % {"status": RegistrationStatus.label_of(status)}
        )
        self.status = status
        self.action = action


class CompanyForm(msgspec.Struct):
    legal_name: str = ""
    trading_name: str = ""
    country: str = ""
    tax_id: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    website: str = ""
    currency: str = ""
    email: str = ""

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        if errors.require("legal_name", self.legal_name):
            errors.max_length("legal_name", self.legal_name, 200)
        errors.max_length("trading_name", self.trading_name, 200)
        errors.country("country", self.country.upper())
        errors.currency("currency", self.currency.upper())
        if "country" not in errors and (normalised := tax_id(errors, "tax_id", self.tax_id, self.country.upper())):
            self.tax_id = normalised  # stored as the country's checker writes it
        elif "country" in errors:
            errors.require("tax_id", self.tax_id)
        if errors.require("street", self.street):
            errors.max_length("street", self.street, 200)
        if errors.require("city", self.city):
            errors.max_length("city", self.city, 100)
        errors.max_length("postal_code", self.postal_code, 20)
        errors.max_length("website", self.website, 300)
        if self.email:
            errors.email("email", self.email)
        return errors


def _apply(supplier: Supplier, form: CompanyForm) -> None:
    supplier.name = form.legal_name
    supplier.trading_name = form.trading_name or None
    supplier.country = form.country.upper()
    supplier.tax_id = form.tax_id
    supplier.street, supplier.city = form.street, form.city
    supplier.postal_code = form.postal_code or None
    supplier.website = form.website or None
    supplier.currency = form.currency.upper()
    supplier.email = form.email.lower() or None


class RegistrationRequest(CompanyForm):
    """The public form's first step: the company, and the person registering it."""

    full_name: str = ""
    login_email: str = ""

    def errors(self) -> FieldErrors:
        errors = super().errors()
        if errors.require("full_name", self.full_name):
            errors.max_length("full_name", self.full_name, 200)
        errors.email("login_email", self.login_email)
        return errors


async def request(session: AsyncSession, form: RegistrationRequest) -> None:
    """Step 1 of a self-registration: InvalidForm for a bad form, else the link that continues it
    is e-mailed to the address given (the job says instead that it has access already, if it has).
    The answer is the same for any address, and nothing is created yet."""
    if errors := form.errors():
        raise InvalidForm(errors)
    await links.ask(
        session,
        LinkPurpose.REGISTRATION,
        form.login_email,
        workspace_id=context_of(session).tenant_id,
        payload=msgspec.to_builtins(form),
    )


REGISTRATION_LINKS = (LinkPurpose.REGISTRATION.value,)


async def start_from_link(
    session: AsyncSession, token: str, *, password: str, confirm: str
) -> tuple[SupplierRegistration, Identity]:
    """Use a registration link: the address is proved (its person chooses a password if they have
    none), and the pending supplier, its draft and the registrant's membership are made from the
    form the link carries. LinkRefused for a bad link, InvalidForm for a bad password or a person
    with access here already (the link then stays unused)."""
    holder = await links.use(session, token, REGISTRATION_LINKS, workspace_id=context_of(session).tenant_id)
    form = msgspec.convert(holder.payload, RegistrationRequest)
    registrant = await links.prove_and_choose(
        session, holder, full_name=form.full_name, password=password, confirm=confirm
    )
    return await start(session, form, registrant=registrant), registrant


async def start(session: AsyncSession, form: CompanyForm, *, registrant: Identity) -> SupplierRegistration:
    """A pending supplier with its draft registration, and the (proved) registrant as its first
    user (see _enrol)."""
    if errors := form.errors():
        raise InvalidForm(errors)
    tenant_id = context_of(session).tenant_id
    supplier = Supplier(id=new_id(), tenant_id=tenant_id, status=PartyStatus.PENDING)
    _apply(supplier, form)
    supplier.number = await next_number(session, "supplier", "SUP")
    session.add(supplier)
    await session.flush()
    registration = SupplierRegistration(tenant_id=tenant_id, supplier_id=supplier.id, status=RegistrationStatus.DRAFT)
    session.add(registration)
    await enrol(session, registration, registrant)
    actor = Actor(kind="supplier", identity_id=registrant.id, email=registrant.email)
    await record(session, "registration.started", "supplier", supplier.id, after={"name": supplier.name}, actor=actor)
    return registration


async def enrol(session: AsyncSession, registration: SupplierRegistration, registrant: Identity) -> None:
    """The registrant becomes the supplier's first user, with the supplier-admin role, inactive
    until approval. A person has one membership per workspace: one who has it already (they
    proved their address by now, so nobody else learns this) logs in or continues what they have."""
    taken = await session.scalar(
        select(Membership.id).where(
            Membership.tenant_id == registration.tenant_id, Membership.identity_id == registrant.id
        )
    )
    if taken is not None:
        raise InvalidForm(
            FieldErrors(
                login_email=_("You already have access to this workspace: log in, or continue your registration below.")
            )
        )
    membership = Membership(
        id=new_id(),
        tenant_id=registration.tenant_id,
        identity_id=registrant.id,
        kind=MembershipKind.SUPPLIER,
        supplier_id=registration.supplier_id,
        roles=["admin"],
        active=False,
        created_by=registration.invited_by,  # the inviter handed this access out, if anyone did
    )
    session.add(membership)
    registration.registrant_id = registrant.id
    await session.flush()


async def registration_to_decide(session: AsyncSession, supplier_id: UUID) -> SupplierRegistration | None:
    """The supplier's registration, locked: two reviewers deciding at once decide one after the other."""
    registration: SupplierRegistration | None = await session.scalar(
        select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier_id).with_for_update()
    )
    return registration


def name_errors(full_name: str) -> FieldErrors:
    errors = FieldErrors()
    if errors.require("full_name", full_name):
        errors.max_length("full_name", full_name, 200)
    return errors


async def update_company(session: AsyncSession, registration: SupplierRegistration, form: CompanyForm) -> None:
    """Save a step of the draft (or a fix after a request for information)."""
    ensure_editable(registration, "edited")
    if errors := form.errors():
        raise InvalidForm(errors)
    supplier = await supplier_of(session, registration)
    _apply(supplier, form)
    await session.flush()


async def add_contact(
    session: AsyncSession,
    registration: SupplierRegistration,
    *,
    name: str,
    email: str,
    phone: str = "",
    title: str = "",
) -> SupplierContact:
    ensure_editable(registration, "edited")
    errors = FieldErrors()
    if errors.require("name", name):
        errors.max_length("name", name, 200)
    errors.email("email", email)
    errors.max_length("phone", phone, 40)
    errors.max_length("title", title, 100)
    if errors:
        raise InvalidForm(errors)
    contact = SupplierContact(
        tenant_id=registration.tenant_id,
        supplier_id=registration.supplier_id,
        name=name,
        email=email.lower(),
        phone=phone or None,
        title=title or None,
    )
    session.add(contact)
    await session.flush()
    return contact


async def accept_terms(session: AsyncSession, registration: SupplierRegistration) -> None:
    """The supplier accepts the terms in force now (the version is kept with the acceptance)."""
    ensure_editable(registration, "edited")
    terms = await current_terms(session)
    if terms is None:
        raise InvalidForm(FieldErrors(accept=_("There are no supplier terms to accept.")))
    supplier = await supplier_of(session, registration)
    supplier.terms_accepted_at, supplier.terms_version = datetime.now(UTC), terms.version
    await session.flush()


@dataclass(frozen=True, slots=True)
class Gaps:
    """What a registration still lacks before it can be submitted. The rule is written once, as
    SQL (`columns`), so the review queue reads every row's gaps in the query that lists them."""

    terms: bool  # the terms in force are not the ones the supplier accepted
    contact: bool
    category: bool
    bank_account: bool
    documents: list[str]  # the names of required documents with no upload under review or approved

    @staticmethod
    def columns() -> tuple[ColumnElement[Any], ...]:
        """The gaps of the supplier in the enclosing query's FROM (correlated subqueries)."""
        in_force = select(func.max(SupplierTerms.version)).scalar_subquery()
        # a rejected upload is no upload: the supplier must send a new one before resubmitting
        uploaded = (
            select(SupplierDocument.id)
            .where(
                SupplierDocument.supplier_id == Supplier.id,
                SupplierDocument.document_type == DocumentRequirement.document_type,
                SupplierDocument.status.in_([SupplierDocumentStatus.PENDING_REVIEW, SupplierDocumentStatus.APPROVED]),
            )
            .exists()
        )
        return (
            and_(in_force.is_not(None), Supplier.terms_version.is_distinct_from(in_force)).label("terms_gap"),
            ~select(SupplierContact.id).where(SupplierContact.supplier_id == Supplier.id).exists(),
            ~select(SupplierQualification.id).where(SupplierQualification.supplier_id == Supplier.id).exists(),
            ~select(SupplierChangeRequest.id)
            .where(
                SupplierChangeRequest.supplier_id == Supplier.id,
                SupplierChangeRequest.kind == ChangeKind.BANK_ACCOUNT,
                SupplierChangeRequest.status != ChangeStatus.REJECTED,
            )
            .exists(),
            select(func.array_agg(distinct(DocumentRequirement.name)))
            .join(SupplierQualification, SupplierQualification.category_id == DocumentRequirement.category_id)
            .where(SupplierQualification.supplier_id == Supplier.id, ~uploaded)
            .scalar_subquery(),
        )

    @classmethod
    def of(cls, row: Sequence[Any]) -> Gaps:
        """From the values of `columns()`, in their order."""
        terms, contact, category, bank_account, documents = row
        return cls(terms, contact, category, bank_account, sorted(documents or []))

    def messages(self) -> list[str]:
        gaps = []
        if self.terms:
            gaps.append(_("Accept the supplier terms."))
        if self.contact:
            gaps.append(_("Add at least one contact."))
        if self.category:
            gaps.append(_("Choose the categories you supply."))
        if self.bank_account:
            gaps.append(_("Enter your bank account."))
        gaps.extend(_("Upload: %(document)s.") % {"document": name} for name in self.documents)
        return gaps

    def __len__(self) -> int:
        return sum((self.terms, self.contact, self.category, self.bank_account)) + len(self.documents)


async def missing(session: AsyncSession, registration: SupplierRegistration) -> list[str]:
    """What the registration still lacks before it can be submitted (messages; [] = complete)."""
    row = (await session.execute(select(*Gaps.columns()).where(Supplier.id == registration.supplier_id))).one()
    return Gaps.of(row).messages()


async def submit(session: AsyncSession, registration: SupplierRegistration) -> None:
    if gaps := await missing(session, registration):
        raise InvalidForm(FieldErrors(registration=" ".join(gaps)))
    if (registration.status, "submit") not in TRANSITIONS:  # before the stamp: a refusal changes nothing
        raise IllegalTransition(registration.status, "submit")
    # stamped before the move, so both go in one UPDATE: a registrant may change nothing else
    registration.submitted_at = datetime.now(UTC)
    await _move(session, registration, "submit")


async def review(session: AsyncSession, registration: SupplierRegistration, action: str, *, comment: str = "") -> None:
    """approve, reject (with a reason) or request_info (with what is needed), by the context's person."""
    if action in ("reject", "request_info") and not comment.strip():
        raise InvalidForm(FieldErrors(comment=_("Say why, so the supplier knows what to do.")))
    if (registration.status, action) not in TRANSITIONS:  # before anything changes
        raise IllegalTransition(registration.status, action)
    supplier = await supplier_of(session, registration)
    if action == "approve":
        await ensure_room(session, Limit.ACTIVE_SUPPLIERS)
    registration.review_comment = comment.strip() or None
    await _move(session, registration, action, comment=registration.review_comment)
    registration.decided_by, registration.decided_at = context_of(session).identity_id, datetime.now(UTC)
    if action == "approve":
        supplier.status = PartyStatus.ACTIVE
        people = await session.scalars(select(Membership).where(Membership.supplier_id == supplier.id))
        for membership in people:
            membership.active = True
    elif action == "reject":
        supplier.status = PartyStatus.REJECTED
    await session.flush()


async def duplicates(session: AsyncSession, supplier: Supplier) -> list[Supplier]:
    """Other suppliers of this tenant with the same tax id, for the reviewer only. RLS keeps the
    search inside the tenant, so nobody learns whether another tenant knows the company."""
    if not supplier.tax_id:
        return []
    # letters and digits only, upper case, without the country prefix EU VAT numbers may carry
    cleaned = func.upper(func.regexp_replace(Supplier.tax_id, r"[^A-Za-z0-9]", "", "g"))
    bare = func.regexp_replace(cleaned, func.concat("^", Supplier.country), "")
    mine = "".join(ch for ch in supplier.tax_id if ch.isalnum()).upper().removeprefix(supplier.country)
    found = await session.scalars(select(Supplier).where(Supplier.id != supplier.id, bare == mine))
    return list(found)


def as_registrant(
    db: Database, tenant_id: UUID, supplier_id: UUID, registrant_id: UUID
) -> AbstractAsyncContextManager[AsyncSession]:
    """A transaction of the draft in the registrant's own context: their supplier's party, as
    them (the registrant has no session until approval; a signed cookie names them). RLS then
    lets them save their draft (0010), and nothing of any other supplier."""
    return db.transaction(TenantContext(tenant_id, PartyKind.SUPPLIER, party_id=supplier_id, identity_id=registrant_id))


async def choose_categories(
    session: AsyncSession, registration: SupplierRegistration, wanted: set[str], *, today: date
) -> None:
    """The categories the supplier supplies, added to those it had (a category is never dropped
    from a draft: its documents may be on their way)."""
    ensure_editable(registration, "edited")
    if not wanted or not wanted <= await known_categories(session):
        raise InvalidForm(FieldErrors(category=_("Choose the categories you supply.")))
    have = {
        str(c)
        for c in await session.scalars(
            select(SupplierQualification.category_id).where(
                SupplierQualification.supplier_id == registration.supplier_id
            )
        )
    }
    for category_id in sorted(wanted - have):
        await supply_category(session, registration.supplier_id, UUID(category_id), today=today)


async def known_categories(session: AsyncSession) -> set[str]:
    """The ids of the tenant's supplier categories, as a form names them."""
    return {str(category) for category in await session.scalars(select(SupplierCategory.id))}


def ensure_editable(registration: SupplierRegistration, action: str) -> None:
    if registration.status not in EDITABLE:
        raise IllegalTransition(registration.status, action)


async def _move(
    session: AsyncSession, registration: SupplierRegistration, action: str, *, comment: str | None = None
) -> None:
    target = TRANSITIONS.get((registration.status, action))
    if target is None:
        raise IllegalTransition(registration.status, action)
    before = registration.status
    registration.status = target
    await session.flush()
    await record(
        session,
        f"registration.{action}",
        "supplier",
        registration.supplier_id,
        before={"status": before},
        # the reviewer's words stay in the trail: the record keeps only the latest comment
        after={"status": target, "comment": comment} if comment else {"status": target},
    )
    await enqueue(
        session,
        NOTIFY_REGISTRATION,
        key=f"registration:{registration.id}:{action}:{int(datetime.now(UTC).timestamp() * 1_000_000)}",
        registration_id=registration.id,
        status=target,
        # as it is now: a later decision replaces the comment on the record
        comment=registration.review_comment if target != RegistrationStatus.SUBMITTED else None,
    )


async def supplier_of(session: AsyncSession, registration: SupplierRegistration) -> Supplier:
    supplier = await session.get(Supplier, (registration.tenant_id, registration.supplier_id))
    assert supplier is not None
    return supplier
