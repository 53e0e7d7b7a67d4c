"""Staff supplier master: the supplier list (search, filters, paging, CSV export), the review queue
of registrations, and the supplier 360 page with what staff decide there — a registration, a
document, a change to sensitive data, the risk tier — and the download of a supplier's documents.

Decisions go through the onboarding services (backend/suppliers). The ones that write the outbox
(registration review, change decisions) run in the tenant's system context, naming the staff
member as the actor, after the route's guard has checked that member's permission.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from babel.dates import format_date
from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template
from litestar.status_codes import HTTP_409_CONFLICT
from sqlalchemy import ColumnElement, Select, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import Actor, record, snapshot
from backend.authz.guards import staff
from backend.authz.roles import Permission, StaffRole, permissions_of
from backend.dependencies import Db
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import current_locale
from backend.kit.i18n import gettext as _
from backend.kit.pagination import Page, PageRequest
from backend.models import (
    ChangeKind,
    ChangeStatus,
    DocumentRequirement,
    Identity,
    MembershipKind,
    QualificationStatus,
    RegistrationStatus,
    Supplier,
    SupplierBankAccount,
    SupplierCategory,
    SupplierChangeRequest,
    SupplierContact,
    SupplierDocument,
    SupplierDocumentStatus,
    SupplierQualification,
    SupplierRegistration,
)
from backend.models.party import RiskTier
from backend.parties.repository import SupplierRepository
from backend.parties.status import status_label
from backend.suppliers.changes import account_in_force, change_kind_label, change_status_label, decide, masked
from backend.suppliers.qualification import expiry, review_document
from backend.suppliers.registration import (
    IllegalTransition,
    InvitationForm,
    duplicates,
    invite,
    missing,
    registration_status_label,
    review,
    send_invitation,
)
from backend.suppliers.standing import StatusUnchanged, block, unblock
from portals.shared.clock import workspace_today
from portals.shared.documents import stored_file
from portals.shared.forms import FormRejected
from portals.staff.routes import PartyPages
from tenants.context import TenantContext
from tenants.isolation import Database

Req = Request[Any, Any, Any]

REVIEW_ACTIONS = ("approve", "reject", "request_info")
EXPORT_BATCH = 500
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NO_STORE = {"cache-control": "private, no-store"}


# --- the names people read --------------------------------------------------------------------


def risk_label(tier: str | None) -> str:
    labels: dict[str, str] = {RiskTier.LOW: _("Low"), RiskTier.MEDIUM: _("Medium"), RiskTier.HIGH: _("High")}
    return labels.get(tier or "", tier or "—")


def document_status_label(status: str) -> str:
    labels: dict[str, str] = {
        SupplierDocumentStatus.PENDING_REVIEW: _("Waiting for review"),
        SupplierDocumentStatus.APPROVED: _("Approved"),
        SupplierDocumentStatus.REJECTED: _("Rejected"),
        SupplierDocumentStatus.SUPERSEDED: _("Superseded"),
    }
    return labels.get(status, status)


def qualification_status_label(status: str) -> str:
    labels: dict[str, str] = {
        QualificationStatus.PENDING: _("Pending"),
        QualificationStatus.QUALIFIED: _("Qualified"),
        QualificationStatus.EXPIRED: _("Expired"),
    }
    return labels.get(status, status)


def _day(value: date | None) -> str:
    """A calendar date the reader's way (the `datetime` filter is for points in time)."""
    return format_date(value, format="medium", locale=current_locale()) if value else "—"


# --- the list: search, filters, paging, export ------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupplierFilter:
    """What the list and its export show: `text` matches name, trading name, number, e-mail, tax
    id (letters and digits only, so "DE 136 695 976" finds DE136695976) and category name or code."""

    text: str = ""
    status: str = ""
    risk: str = ""
    qualification: str = ""

    def query(self) -> Select[tuple[Supplier]]:
        query = select(Supplier)
        if self.text:
            in_category = (
                select(SupplierQualification.id)
                .join(SupplierCategory, SupplierCategory.id == SupplierQualification.category_id)
                .where(
                    SupplierQualification.supplier_id == Supplier.id,
                    or_(
                        SupplierCategory.name.icontains(self.text, autoescape=True),
                        SupplierCategory.code.icontains(self.text, autoescape=True),
                    ),
                )
                .exists()
            )
            matches: list[ColumnElement[bool]] = [
                Supplier.name.icontains(self.text, autoescape=True),
                Supplier.trading_name.icontains(self.text, autoescape=True),
                Supplier.number.icontains(self.text, autoescape=True),
                Supplier.email.icontains(self.text, autoescape=True),
                in_category,
            ]
            if compact := "".join(ch for ch in self.text if ch.isalnum()).upper():
                matches.append(
                    func.upper(func.regexp_replace(Supplier.tax_id, "[^A-Za-z0-9]", "", "g")).contains(compact)
                )
            query = query.where(or_(*matches))
        if self.status:
            query = query.where(Supplier.status == self.status)
        if self.risk:
            query = query.where(Supplier.risk_tier == self.risk)
        if self.qualification:
            query = query.where(
                select(SupplierQualification.id)
                .where(
                    SupplierQualification.supplier_id == Supplier.id,
                    SupplierQualification.status == self.qualification,
                )
                .exists()
            )
        return query

    def encoded(self) -> str:
        values = {"q": self.text, "status": self.status, "risk": self.risk, "qualification": self.qualification}
        return urlencode({key: value for key, value in values.items() if value})


async def _search(db: AsyncSession, filters: SupplierFilter, request: PageRequest) -> Page[Supplier]:
    query = filters.query()
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(query.order_by(Supplier.name, Supplier.id).limit(request.size).offset(request.offset))
    return Page(items=list(rows), total=total or 0, request=request)


def _list_context(request: Req, filters: SupplierFilter, found: Page[Supplier]) -> dict[str, Any]:
    encoded = filters.encoded()
    return SUPPLIER_PAGES.context(
        page=found,
        filters=filters,
        paging_query=f"&{encoded}" if encoded else "",
        export_url="/suppliers/export.csv" + (f"?{encoded}" if encoded else ""),
        risk_tiers=[(tier.value, risk_label(tier)) for tier in RiskTier],
        qualification_statuses=[(status.value, qualification_status_label(status)) for status in QualificationStatus],
        risk_label=risk_label,
        can_manage=Permission.MANAGE_SUPPLIERS in permissions_of(request.scope["user"].roles),
    )


@get("/", guards=[staff(Permission.VIEW_SUPPLIERS)], name="suppliers_list")
async def listing(
    request: Req,
    db: Db,
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    risk: FromQuery[str] = "",
    qualification: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    filters = SupplierFilter(text=q.strip(), status=status, risk=risk, qualification=qualification)
    found = await _search(db, filters, PageRequest.clamp(page, 25))
    return Template(template_name="staff/supplier_list.html", context=_list_context(request, filters, found))


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _csv_rows(rows: Iterable[Iterable[object]]) -> bytes:
    """RFC 4180: CRLF line ends, fields with commas, quotes or line breaks in double quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode()


async def _export_rows(request: Req, filters: SupplierFilter) -> AsyncIterator[bytes]:
    """The matching suppliers in batches, each read in a transaction of the caller's own context
    that lives as long as the download: nothing is held in memory but one batch."""
    header = [
        _("Number"),
        _("Name"),
        _("Trading name"),
        _("Country"),
        _("Tax / VAT ID"),
        _("Status"),
        _("Risk tier"),
        _("Risk reason"),
        _("Categories"),
        _("E-mail"),
        _("Phone"),
        _("Website"),
        _("Street"),
        _("Postal code"),
        _("City"),
        _("Currency"),
    ]
    # the BOM: without it, Excel reads UTF-8 as the machine's legacy code page and garbles Chinese
    yield codecs.BOM_UTF8 + _csv_rows([header])
    after: tuple[str, UUID] | None = None
    async with request.app.state.db.transaction(request.scope["user"].context) as session:
        while True:
            query = filters.query().order_by(Supplier.name, Supplier.id).limit(EXPORT_BATCH)
            if after is not None:
                query = query.where(tuple_(Supplier.name, Supplier.id) > tuple_(literal(after[0]), literal(after[1])))
            batch = list(await session.scalars(query))
            if not batch:
                return
            categories: dict[UUID, list[str]] = {}
            standings = await session.execute(
                select(SupplierQualification.supplier_id, SupplierCategory.name, SupplierQualification.status)
                .join(SupplierCategory, SupplierCategory.id == SupplierQualification.category_id)
                .where(SupplierQualification.supplier_id.in_([supplier.id for supplier in batch]))
                .order_by(SupplierCategory.name)
            )
            for supplier_id, name, standing in standings:
                categories.setdefault(supplier_id, []).append(f"{name} ({qualification_status_label(standing)})")
            yield _csv_rows(
                [
                    s.number,
                    s.name,
                    s.trading_name,
                    s.country,
                    s.tax_id,
                    status_label(s.status),
                    risk_label(s.risk_tier) if s.risk_tier else "",
                    s.risk_reason,
                    "; ".join(categories.get(s.id, [])),
                    s.email,
                    s.phone,
                    s.website,
                    s.street,
                    s.postal_code,
                    s.city,
                    s.currency,
                ]
                for s in batch
            )
            session.expunge_all()  # a long export must not keep every supplier it has written
            after = (batch[-1].name, batch[-1].id)


@get("/export.csv", guards=[staff(Permission.VIEW_SUPPLIERS)], name="suppliers_export")
async def export(
    request: Req,
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    risk: FromQuery[str] = "",
    qualification: FromQuery[str] = "",
) -> Stream:
    filters = SupplierFilter(text=q.strip(), status=status, risk=risk, qualification=qualification)
    filename = f"suppliers-{workspace_today(request).isoformat()}.csv"
    return Stream(
        _export_rows(request, filters),
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={**NO_STORE, "content-disposition": f'attachment; filename="{filename}"'},
    )


# --- the review queue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueRow:
    registration: SupplierRegistration
    supplier: Supplier
    status_label: str
    missing: int


@get("/registrations", guards=[staff(Permission.VIEW_SUPPLIERS)], name="supplier_registrations")
async def registrations(
    db: Db,
    q: FromQuery[str] = "",
    status: FromQuery[str] = RegistrationStatus.SUBMITTED.value,
    page: FromQuery[int] = 1,
) -> Template:
    """Oldest submission first: the queue is worked from its front. `status=` (empty) shows all."""
    query = select(SupplierRegistration, Supplier).join(Supplier, Supplier.id == SupplierRegistration.supplier_id)
    if status:
        query = query.where(SupplierRegistration.status == status)
    if text := q.strip():
        query = query.where(Supplier.name.icontains(text, autoescape=True))
    request = PageRequest.clamp(page, 25)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    ordered = query.order_by(
        SupplierRegistration.submitted_at.asc().nulls_last(), SupplierRegistration.created_at, SupplierRegistration.id
    )
    rows = [
        # the completeness rule is the service's; a page of the queue asks it once per row
        QueueRow(
            registration, supplier, registration_status_label(registration.status), len(await missing(db, registration))
        )
        for registration, supplier in (await db.execute(ordered.limit(request.size).offset(request.offset))).tuples()
    ]
    encoded = urlencode({"q": q, "status": status})
    return Template(
        template_name="staff/supplier_registrations.html",
        context={
            "page": Page(items=rows, total=total or 0, request=request),
            "q": q,
            "status": status,
            "statuses": [(value.value, registration_status_label(value)) for value in RegistrationStatus],
            "paging_query": f"&{encoded}",
        },
    )


# --- inviting a supplier -----------------------------------------------------------------------------


async def _invite_context(
    db: AsyncSession, form: InvitationForm, errors: FieldErrors | dict[str, str]
) -> dict[str, Any]:
    categories = list(await db.scalars(select(SupplierCategory).order_by(SupplierCategory.code)))
    return SUPPLIER_PAGES.context(form=form, errors=errors, categories=categories)


@get("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite_form")
async def invite_form(request: Req, db: Db) -> Template:
    form = InvitationForm(currency=request.scope["state"]["tenant"].currency)
    return Template(template_name="staff/supplier_invite.html", context=await _invite_context(db, form, {}))


@post("/invite", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invite")
async def invite_supplier(request: Req, db: Db) -> Response[Any]:
    """The supplier's draft registration, filled in with what staff know, and the e-mail that
    invites its person to complete it."""
    form = bind(InvitationForm, await request.form())
    try:
        async with _system(request) as system:
            registration = await invite(
                system, form, inviter=Actor.of(request.scope["user"]), today=workspace_today(request)
            )
    except InvalidForm as rejected:
        raise FormRejected("staff/supplier_invite.html", await _invite_context(db, form, rejected.errors)) from rejected
    return Redirect(path=f"/suppliers/{registration.supplier_id}")


@post("/{party_id:uuid}/invitation", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_invitation_resend")
async def resend_invitation(request: Req, db: Db, party_id: FromPath[UUID]) -> Response[Any]:
    supplier = await _supplier(db, party_id)
    principal = request.scope["user"]
    async with _system(request) as system:
        registration = await system.scalar(
            select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier.id).with_for_update()
        )
        if registration is None or registration.invited_email is None:
            raise NotFoundException()
        try:
            await send_invitation(system, registration)
        except IllegalTransition:
            return await _conflict(db, request, party_id, _("The invitation has been taken up already."))
        await record(
            system,
            "registration.invitation_sent",
            "supplier",
            supplier.id,
            after={"invited_email": registration.invited_email},
            actor=Actor.of(principal),
        )
    return Redirect(path=f"/suppliers/{party_id}")


# --- the supplier 360 page --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentView:
    document: SupplierDocument
    title: str
    status_label: str
    issued: str
    expires: str
    expiry: str  # "expired", "expiring" or "" (fine, no expiry, or no longer the one in use)

    @property
    def pending(self) -> bool:
        return self.document.status == SupplierDocumentStatus.PENDING_REVIEW


@dataclass(frozen=True, slots=True)
class ChangeView:
    change: SupplierChangeRequest
    kind_label: str
    proposed: str
    status_label: str
    requested_by: str
    decided_by: str

    @property
    def pending(self) -> bool:
        return self.change.status == ChangeStatus.PENDING


@dataclass(frozen=True, slots=True)
class QualificationView:
    category: SupplierCategory
    status: str
    status_label: str
    changed_at: datetime | None


def _expiry(document: SupplierDocument, today: date) -> str:
    in_use = (SupplierDocumentStatus.APPROVED, SupplierDocumentStatus.PENDING_REVIEW)
    return expiry(document.expires_on, today) if document.status in in_use else ""


async def _documents(db: AsyncSession, supplier_id: UUID, today: date) -> list[DocumentView]:
    titles = dict(
        (await db.execute(select(DocumentRequirement.document_type, DocumentRequirement.name))).tuples().all()
    )
    documents = await db.scalars(
        select(SupplierDocument)
        .where(SupplierDocument.supplier_id == supplier_id)
        .order_by(SupplierDocument.document_type, SupplierDocument.version.desc())
    )
    return [
        DocumentView(
            document=document,
            title=titles.get(document.document_type, document.document_type),
            status_label=document_status_label(document.status),
            issued=_day(document.issued_on),
            expires=_day(document.expires_on),
            expiry=_expiry(document, today),
        )
        for document in documents
    ]


async def _changes(db: AsyncSession, supplier_id: UUID) -> list[ChangeView]:
    changes = list(
        await db.scalars(
            select(SupplierChangeRequest)
            .where(SupplierChangeRequest.supplier_id == supplier_id)
            .order_by(SupplierChangeRequest.created_at.desc(), SupplierChangeRequest.id)
        )
    )
    accounts = {
        account.id: account
        for account in await db.scalars(
            select(SupplierBankAccount).where(SupplierBankAccount.supplier_id == supplier_id)
        )
    }
    people = {change.requested_by for change in changes} | {change.decided_by for change in changes}
    names = {
        identity.id: f"{identity.full_name} <{identity.email}>"
        for identity in await db.scalars(select(Identity).where(Identity.id.in_([i for i in people if i])))
    }
    views = []
    for change in changes:
        if change.kind == ChangeKind.BANK_ACCOUNT:
            account = accounts.get(UUID(change.proposed["bank_account_id"]))
            # never the whole number on a page: the last four tell two accounts apart
            proposed = (
                " · ".join(filter(None, [masked(account.account), account.holder, account.bic])) if account else "—"
            )
        else:
            proposed = next(iter(change.proposed.values()), "—")
        views.append(
            ChangeView(
                change=change,
                kind_label=change_kind_label(change.kind),
                proposed=str(proposed),
                status_label=change_status_label(change.status),
                requested_by=names.get(change.requested_by, "—") if change.requested_by else "—",
                decided_by=names.get(change.decided_by, "—") if change.decided_by else "—",
            )
        )
    return views


class RiskForm(msgspec.Struct):
    risk_tier: str = ""
    risk_reason: str = ""

    def errors(self) -> FieldErrors:
        errors = FieldErrors()
        if errors.require("risk_tier", self.risk_tier) and self.risk_tier not in RiskTier.__members__.values():
            errors["risk_tier"] = _("Choose a risk tier.")
        if errors.require("risk_reason", self.risk_reason):
            errors.max_length("risk_reason", self.risk_reason, 500)
        return errors


class SupplierPages(PartyPages):
    """The party pages with the supplier's own list, queue, 360 page and decisions."""

    async def more_detail(self, db: AsyncSession, request: Req, party: Any) -> dict[str, Any]:
        supplier: Supplier = party
        principal = request.scope["user"]
        today = workspace_today(request)
        registration = await db.scalar(
            select(SupplierRegistration).where(SupplierRegistration.supplier_id == supplier.id)
        )
        standings = await db.execute(
            select(SupplierCategory, SupplierQualification)
            .join(SupplierQualification, SupplierQualification.category_id == SupplierCategory.id)
            .where(SupplierQualification.supplier_id == supplier.id)
            .order_by(SupplierCategory.name)
        )
        in_force = await account_in_force(db, supplier.id)
        return {
            "risk_tiers": [(tier.value, risk_label(tier)) for tier in RiskTier],
            "risk_label": risk_label,
            "risk_form": RiskForm(risk_tier=supplier.risk_tier or "", risk_reason=supplier.risk_reason or ""),
            "risk_errors": {},
            "status_errors": {},
            "status_reason": "",
            "contacts": list(
                await db.scalars(
                    select(SupplierContact)
                    .where(SupplierContact.supplier_id == supplier.id)
                    .order_by(SupplierContact.name)
                )
            ),
            "qualifications": [
                QualificationView(category, q.status, qualification_status_label(q.status), q.changed_at)
                for category, q in standings.tuples()
            ],
            "supplier_documents": await _documents(db, supplier.id, today),
            "registration": registration,
            "registration_status": registration_status_label(registration.status) if registration else "",
            "registration_missing": await missing(db, registration) if registration else [],
            "reviewable": registration is not None and registration.status == RegistrationStatus.SUBMITTED,
            "review_errors": {},
            "review_comment": "",
            "duplicates": await duplicates(db, supplier),
            "bank_account": in_force,
            "bank_account_masked": masked(in_force.account) if in_force else "",
            "changes": await _changes(db, supplier.id),
            "change_errors": {},
            # the buttons for those the service will hear; the route answers everyone else
            "can_decide": StaffRole.FINANCE.value in principal.roles,
            "notice": "",
        }

    def router(self) -> Router:
        shared = self.handlers()
        del shared["listing"]  # replaced: more filters, and the export
        handlers = [
            listing,
            export,
            registrations,
            invite_form,
            invite_supplier,
            resend_invitation,
            *shared.values(),
            review_registration,
            review_supplier_document,
            download_document,
            decide_change,
            set_risk,
            set_status,
        ]
        return Router(path=f"/{self.path}", route_handlers=handlers)


SUPPLIER_PAGES = SupplierPages(
    "suppliers",
    MembershipKind.SUPPLIER,
    SupplierRepository,
    Permission.VIEW_SUPPLIERS,
    Permission.MANAGE_SUPPLIERS,
    detail_template="staff/supplier_detail.html",
)


async def _supplier(db: AsyncSession, party_id: UUID) -> Supplier:
    supplier = await SupplierRepository(db).get(party_id)
    if supplier is None:
        raise NotFoundException()
    return supplier


async def _page(db: AsyncSession, request: Req, party_id: UUID, **values: Any) -> dict[str, Any]:
    return await SUPPLIER_PAGES.detail_context(db, request, party_id, **values)


async def _conflict(db: AsyncSession, request: Req, party_id: UUID, message: str) -> Template:
    """The page again, saying why the step cannot be taken now (someone else was faster, or the
    record has moved on): a 409, like any illegal move of a state machine."""
    context = await _page(db, request, party_id, notice=message)
    return Template(template_name=SUPPLIER_PAGES.detail_template, context=context, status_code=HTTP_409_CONFLICT)


def _system(request: Req) -> AbstractAsyncContextManager[AsyncSession]:
    """A transaction in the tenant's system context, for services that write the outbox."""
    database: Database = request.app.state.db
    return database.transaction(TenantContext.system(request.scope["user"].tenant_id))


@post("/{party_id:uuid}/registration", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_registration_review")
async def review_registration(request: Req, db: Db, party_id: FromPath[UUID]) -> Response[Any]:
    supplier = await _supplier(db, party_id)
    registration_id = await db.scalar(
        select(SupplierRegistration.id).where(SupplierRegistration.supplier_id == supplier.id)
    )
    if registration_id is None:
        raise NotFoundException()
    form = await request.form()
    action, comment = str(form.get("action", "")), str(form.get("comment", "")).strip()
    if action not in REVIEW_ACTIONS:
        errors = FieldErrors(action=_("Choose approve, reject or request more information."))
        context = await _page(db, request, party_id, review_errors=errors, review_comment=comment)
        raise FormRejected(SUPPLIER_PAGES.detail_template, context)
    principal = request.scope["user"]
    try:
        async with _system(request) as system:
            registration = await system.get(
                SupplierRegistration, (principal.tenant_id, registration_id), with_for_update=True
            )
            if registration is None:  # gone since the look above
                raise NotFoundException()
            await review(system, registration, action, reviewer=Actor.of(principal), comment=comment)
    except InvalidForm as rejected:  # no comment, or (approving) the plan's supplier limit
        context = await _page(db, request, party_id, review_errors=rejected.errors, review_comment=comment)
        raise FormRejected(SUPPLIER_PAGES.detail_template, context) from rejected
    except IllegalTransition as illegal:
        return await _conflict(db, request, party_id, str(illegal))
    return Redirect(path=f"/suppliers/{party_id}")


async def _supplier_document(
    db: AsyncSession, party_id: UUID, document_id: UUID, *, lock: bool = False
) -> SupplierDocument:
    """One of this supplier's documents; another supplier's answers 404 like a missing one (and
    RLS keeps other tenants' rows out of reach altogether)."""
    query = select(SupplierDocument).where(SupplierDocument.id == document_id, SupplierDocument.supplier_id == party_id)
    document = await db.scalar(query.with_for_update() if lock else query)
    if document is None:
        raise NotFoundException()
    return document


@post(
    "/{party_id:uuid}/documents/{document_id:uuid}/review",
    guards=[staff(Permission.MANAGE_SUPPLIERS)],
    name="supplier_document_review",
)
async def review_supplier_document(
    request: Req, db: Db, party_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Response[Any]:
    """In the staff member's own context (no outbox here), so the trail names who reviewed; the
    lock keeps a second reviewer from deciding the same version at the same time."""
    document = await _supplier_document(db, party_id, document_id, lock=True)
    decision = str((await request.form()).get("decision", ""))
    if decision not in ("approve", "reject"):
        context = await _page(db, request, party_id, notice=_("Choose approve or reject."))
        raise FormRejected(SUPPLIER_PAGES.detail_template, context)
    if document.status != SupplierDocumentStatus.PENDING_REVIEW:
        return await _conflict(db, request, party_id, _("This document has been reviewed already."))
    principal = request.scope["user"]
    await review_document(
        db, document, approve=decision == "approve", reviewer=principal.identity_id, today=workspace_today(request)
    )
    return Redirect(path=f"/suppliers/{party_id}")


@get(
    "/{party_id:uuid}/documents/{document_id:uuid}/file",
    guards=[staff(Permission.VIEW_SUPPLIERS)],
    name="supplier_document_file",
)
async def download_document(
    request: Req, db: Db, party_id: FromPath[UUID], document_id: FromPath[UUID], inline: FromQuery[bool] = False
) -> Response[bytes]:
    """The file, saved; `inline`: shown in the reviewer's tab (PDF and images only)."""
    document = await _supplier_document(db, party_id, document_id)
    return await stored_file(
        request, document.storage_key, filename=document.filename, media_type=document.mime_type, inline=inline
    )


@post(
    "/{party_id:uuid}/changes/{change_id:uuid}",
    guards=[staff(Permission.DECIDE_SUPPLIER_CHANGES)],
    name="supplier_change_decision",
)
async def decide_change(request: Req, db: Db, party_id: FromPath[UUID], change_id: FromPath[UUID]) -> Response[Any]:
    await _supplier(db, party_id)
    found = await db.scalar(
        select(SupplierChangeRequest.id).where(
            SupplierChangeRequest.id == change_id, SupplierChangeRequest.supplier_id == party_id
        )
    )
    if found is None:
        raise NotFoundException()
    form = await request.form()
    decision, reason = str(form.get("decision", "")), str(form.get("reason", "")).strip()
    principal = request.scope["user"]
    try:
        if decision not in ("approve", "reject"):
            raise InvalidForm(FieldErrors(decision=_("Choose approve or reject.")))
        async with _system(request) as system:
            change = await system.get(SupplierChangeRequest, (principal.tenant_id, change_id), with_for_update=True)
            if change is None:  # gone since the look above
                raise NotFoundException()
            await decide(
                system,
                change,
                approve=decision == "approve",
                decider=Actor.of(principal),
                roles=list(principal.roles),
                reason=reason,
            )
    except InvalidForm as rejected:  # four eyes, the finance role, or decided already
        message = rejected.errors.get("decision") or next(iter(rejected.errors.values()))
        context = await _page(db, request, party_id, change_errors={str(change_id): message}, notice=message)
        raise FormRejected(SUPPLIER_PAGES.detail_template, context) from rejected
    return Redirect(path=f"/suppliers/{party_id}")


@post("/{party_id:uuid}/risk", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_risk")
async def set_risk(request: Req, db: Db, party_id: FromPath[UUID]) -> Response[Any]:
    supplier = await _supplier(db, party_id)
    form = bind(RiskForm, await request.form())
    if errors := form.errors():
        context = await _page(db, request, party_id, risk_form=form, risk_errors=errors)
        raise FormRejected(SUPPLIER_PAGES.detail_template, context)
    before = snapshot(supplier, "risk_tier", "risk_reason")
    supplier.risk_tier, supplier.risk_reason = form.risk_tier, form.risk_reason
    await db.flush()
    await record(db, "supplier.risk_set", "supplier", supplier.id, before=before, after=snapshot(supplier, *before))
    return Redirect(path=f"/suppliers/{party_id}")


@post("/{party_id:uuid}/status", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_status")
async def set_status(request: Req, db: Db, party_id: FromPath[UUID]) -> Response[Any]:
    """Block (with a reason) or unblock; the row lock makes two clicks one change."""
    supplier = await _supplier(db, party_id)
    await db.refresh(supplier, with_for_update=True)
    form = await request.form()
    action, reason = str(form.get("action", "")), str(form.get("status_reason", ""))
    try:
        if action == "block":
            await block(db, supplier, reason)
        elif action == "unblock":
            await unblock(db, supplier)
        else:
            raise InvalidForm(FieldErrors(action=_("Choose block or unblock.")))
    except InvalidForm as rejected:  # no reason, or (unblocking) the plan's supplier limit
        context = await _page(db, request, party_id, status_errors=rejected.errors, status_reason=reason)
        raise FormRejected(SUPPLIER_PAGES.detail_template, context) from rejected
    except StatusUnchanged:
        return await _conflict(db, request, party_id, _("The supplier's status has changed meanwhile."))
    return Redirect(path=f"/suppliers/{party_id}")


SUPPLIER_ROUTES = [SUPPLIER_PAGES.router()]
