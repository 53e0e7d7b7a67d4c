"""The supplier 360 page (the party pages' detail, with what only suppliers have) and what every
supplier page shares: the supplier or a 404, and the 360 page again when a step taken on it is refused."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from babel.dates import format_date
from litestar import Request
from litestar.exceptions import NotFoundException

from backend.authz.principal import Principal
from backend.authz.roles import Permission, may
from backend.dependencies import Db
from backend.kit.errors import DomainError
from backend.kit.i18n import current_locale
from backend.models import (
    ChangeKind,
    ChangeStatus,
    MembershipKind,
    QualificationStatus,
    RegistrationStatus,
    Supplier,
    SupplierCategory,
    SupplierChangeRequest,
    SupplierDocument,
    SupplierDocumentStatus,
)
from backend.models.party import RiskTier
from backend.parties.repository import SupplierRepository
from backend.suppliers import queries
from backend.suppliers.changes import account_in_force, masked, refusal_to_decide
from backend.suppliers.qualification import expiry
from backend.suppliers.registration import duplicates, missing
from backend.suppliers.standing import RiskForm
from portals.shared.clock import workspace_today
from portals.shared.forms import form_page
from portals.staff.routes import PartyPages
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
NO_VALUE = "—"


def _day(value: date | None) -> str:
    """A calendar date the reader's way (the `datetime` filter is for points in time)."""
    return format_date(value, format="medium", locale=current_locale()) if value else NO_VALUE


def risk_tiers() -> list[tuple[str, str]]:
    return [(tier.value, tier.label) for tier in RiskTier]


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
    refusal: str | None  # why the person viewing may not decide it (None: they may)

    @property
    def pending(self) -> bool:
        return self.change.status == ChangeStatus.PENDING


@dataclass(frozen=True, slots=True)
class QualificationView:
    category: SupplierCategory
    status: str
    status_label: str
    changed_at: datetime | None


def _document_view(row: queries.DocumentRow, today: date) -> DocumentView:
    document = row.document
    in_use = (SupplierDocumentStatus.APPROVED, SupplierDocumentStatus.PENDING_REVIEW)
    return DocumentView(
        document=document,
        title=row.title,
        status_label=SupplierDocumentStatus.label_of(document.status),
        issued=_day(document.issued_on),
        expires=_day(document.expires_on),
        expiry=expiry(document.expires_on, today) if document.status in in_use else "",
    )


def _change_view(row: queries.ChangeRow, viewer: Principal) -> ChangeView:
    change, account = row.change, row.account
    if change.kind == ChangeKind.BANK_ACCOUNT:
        # never the whole number on a page: the last four tell two accounts apart
        proposed = (
            " · ".join(filter(None, [masked(account.account), account.holder, account.bic])) if account else NO_VALUE
        )
    else:
        proposed = str(next(iter(change.proposed.values()), NO_VALUE))
    return ChangeView(
        change=change,
        kind_label=ChangeKind.label_of(change.kind),
        proposed=proposed,
        status_label=ChangeStatus.label_of(change.status),
        requested_by=row.requested_by or NO_VALUE,
        decided_by=row.decided_by or NO_VALUE,
        refusal=refusal_to_decide(viewer, row.authors),
    )


class SupplierPages(PartyPages):
    """The party pages with the supplier's own 360 page."""

    async def more_detail(self, db: Db, user: Principal, workspace: TenantInfo, party: Any) -> dict[str, Any]:
        supplier: Supplier = party
        today = workspace_today(workspace)
        registration = await queries.registration_of(db, supplier.id)
        in_force = await account_in_force(db, supplier.id)
        return {
            "risk_tiers": risk_tiers(),
            "risk_label": RiskTier.label_of,
            "risk_form": RiskForm(risk_tier=supplier.risk_tier or "", risk_reason=supplier.risk_reason or ""),
            "risk_errors": {},
            "status_errors": {},
            "status_reason": "",
            "contacts": await queries.contacts(db, supplier.id),
            "qualifications": [
                QualificationView(category, q.status, QualificationStatus.label_of(q.status), q.changed_at)
                for category, q in await queries.qualifications(db, supplier.id)
            ],
            "supplier_documents": [_document_view(row, today) for row in await queries.documents(db, supplier.id)],
            "registration": registration,
            "registration_status": RegistrationStatus.label_of(registration.status) if registration else "",
            "registration_missing": await missing(db, registration) if registration else [],
            "reviewable": registration is not None and registration.status == RegistrationStatus.SUBMITTED,
            "review_errors": {},
            "review_comment": "",
            "duplicates": await duplicates(db, supplier),
            "bank_account": in_force,
            "bank_account_masked": masked(in_force.account) if in_force else "",
            "changes": [_change_view(row, user) for row in await queries.changes(db, supplier.id)],
            "change_errors": {},
            # the column for those the route lets decide; each row's buttons for those the
            # service will hear on it (four eyes)
            "can_decide": may(user, Permission.DECIDE_SUPPLIER_CHANGES),
            "notice": "",
        }


SUPPLIER_PAGES = SupplierPages(
    "suppliers",
    MembershipKind.SUPPLIER,
    SupplierRepository,
    Permission.VIEW_SUPPLIERS,
    Permission.MANAGE_SUPPLIERS,
    detail_template="staff/supplier_detail.html",
)


async def supplier_or_404(db: Db, party_id: UUID) -> Supplier:
    supplier = await SupplierRepository(db).get(party_id)
    if supplier is None:
        raise NotFoundException()
    return supplier


def on_detail(
    db: Db,
    user: Principal,
    workspace: TenantInfo,
    party_id: UUID,
    shown: Callable[[DomainError], dict[str, Any]] = lambda refused: {},
) -> AbstractAsyncContextManager[None]:
    """A step taken on the 360 page: refused, the page again with the refusal's status, showing
    what `shown(refusal)` says (its errors by the form's fields, the values typed); a refusal of
    the step as a whole (someone else was faster, the record has moved on) says why at the top."""

    async def again(refused: DomainError) -> dict[str, Any]:
        values = {"notice": "" if refused.errors else refused.message, **shown(refused)}
        return await SUPPLIER_PAGES.detail_context(db, user, workspace, party_id, **values)

    return form_page(SUPPLIER_PAGES.detail_template, again)
