"""The supplier's own company in its portal: profile, sensitive changes (sent to the buyer's
finance for approval), documents and colleagues. Only its own supplier, always: the supplier id
comes from the logged-in person's membership, never from the request."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.accounts.service import list_people
from backend.authz.guards import supplier as supplier_may
from backend.authz.principal import Principal
from backend.authz.roles import Permission, SupplierRole
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.forms import FieldErrors, InvalidForm, bind
from backend.kit.i18n import gettext as _
from backend.kit.pagination import PageRequest
from backend.models import ChangeKind, ChangeStatus, MembershipKind, Supplier
from backend.suppliers import queries
from backend.suppliers.changes import (
    BankDetails,
    account_in_force,
    masked,
    propose_bank_account,
    propose_value,
)
from backend.suppliers.colleagues import colleague, invite_colleague, set_colleague_active, set_colleague_role
from backend.suppliers.documents import accepted_types
from backend.suppliers.profile import ProfileForm, document_standings, update_profile
from backend.suppliers.validation import BankAccountForm, tax_id
from portals.shared.clock import workspace_today
from portals.shared.documents import stored_file
from portals.shared.forms import form_page
from portals.supplier.document_upload import upload_from_form
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]
PAGE = "/supplier/company"
TEMPLATE = "supplier/company.html"


async def _context(
    session: Db, user: Principal, workspace: TenantInfo, supplier: Supplier, **values: Any
) -> dict[str, Any]:
    return {
        "supplier": supplier,
        "profile": ProfileForm(
            trading_name=supplier.trading_name or "",
            website=supplier.website or "",
            street=supplier.street or "",
            city=supplier.city or "",
            postal_code=supplier.postal_code or "",
            email=supplier.email or "",
            phone=supplier.phone or "",
        ),
        "account": await account_in_force(session, supplier.id),
        "masked": masked,
        "changes": await queries.recent_changes(session, supplier.id),
        "documents": await document_standings(session, supplier.id, today=workspace_today(workspace)),
        "people": await list_people(session, PageRequest(size=100), kind=MembershipKind.SUPPLIER, party_id=supplier.id),
        "ChangeKind": ChangeKind,
        "ChangeStatus": ChangeStatus,
        "me": user.membership_id,
        "accepted_types": await accepted_types(session),
        "roles": list(SupplierRole),
        "role_label": SupplierRole.label_of,
        "bank": BankAccountForm(country=supplier.country),
        "errors": {},
        "section": "",
        **values,
    }


async def _own_supplier(db: Db, user: Principal) -> Supplier:
    """The person's own supplier, read in their own context (RLS lets a supplier's people write
    only what is theirs to write)."""
    supplier = await db.get(Supplier, (user.tenant_id, user.party_id))
    assert supplier is not None  # the membership's foreign key says so
    return supplier


def _on_section(
    db: Db, user: Principal, workspace: TenantInfo, supplier: Supplier, section: str
) -> AbstractAsyncContextManager[None]:
    """A change made in one section of the page: refused, the page again with its messages and
    that section open (and the request's transaction rolls back)."""
    return form_page(
        TEMPLATE, lambda refused: _context(db, user, workspace, supplier, errors=refused.errors, section=section)
    )


@get(PAGE, name="supplier_company")
async def company(db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    supplier = await _own_supplier(db, user)
    return Template(template_name=TEMPLATE, context=await _context(db, user, workspace, supplier))


@post(PAGE, guards=[supplier_may(Permission.MANAGE_COMPANY_PROFILE)], name="supplier_company_update")
async def update(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    form = bind(ProfileForm, await request.form())
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "profile"):
        await update_profile(db, supplier, form)
    return Redirect(path=f"{PAGE}#profile")


@post(f"{PAGE}/changes", guards=[supplier_may(Permission.MANAGE_COMPANY_PROFILE)], name="supplier_company_change")
async def request_change(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    """A new legal name or tax id: a change request for the buyer's finance to approve."""
    data = await request.form()
    kind, value = str(data.get("kind", "")), str(data.get("value", "")).strip()
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "sensitive"):
        errors = FieldErrors()
        if kind == ChangeKind.TAX_ID:
            value_checked = tax_id(errors, "value", value, supplier.country)
        elif kind == ChangeKind.LEGAL_NAME and errors.require("value", value):
            errors.max_length("value", value, 200)
            value_checked = value
        else:
            errors["kind"] = _("Choose what to change.")
        if errors:
            raise InvalidForm(errors)
        assert value_checked is not None
        await propose_value(db, supplier.id, ChangeKind(kind), value_checked)
    return Redirect(path=f"{PAGE}#sensitive")


@post(f"{PAGE}/bank", guards=[supplier_may(Permission.CHANGE_BANK_ACCOUNT)], name="supplier_company_bank")
async def request_bank_change(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    """For the people who answer for where the money goes (admins and accounting)."""
    form = bind(BankAccountForm, await request.form())
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "bank"):
        await propose_bank_account(db, supplier.id, BankDetails.of(form))
    return Redirect(path=f"{PAGE}#bank")


@post(f"{PAGE}/documents", name="supplier_company_document")
async def upload(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    data = await request.form()
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "documents"):
        await upload_from_form(request, db, supplier.id, data, today=workspace_today(workspace))
    return Redirect(path=f"{PAGE}#documents")


@get(f"{PAGE}/documents/{{document_id:uuid}}/file", name="supplier_company_document_file")
async def document_file(request: Req, db: Db, user: CurrentUser, document_id: FromPath[UUID]) -> Response[bytes]:
    """One of the supplier's own uploads, in the person's own context: RLS and the filter both
    keep another supplier's documents a 404."""
    supplier_id = user.party_id
    assert supplier_id is not None  # the supplier_user guard of this router says so
    document = await queries.supplier_document(db, supplier_id, document_id)
    if document is None:
        raise NotFoundException()
    return await stored_file(request, document.storage_key, filename=document.filename, media_type=document.mime_type)


@post(f"{PAGE}/colleagues", guards=[supplier_may(Permission.MANAGE_COLLEAGUES)], name="supplier_company_colleague")
async def invite(request: Req, db: Db, user: CurrentUser, workspace: Workspace) -> Response[Any]:
    data = await request.form()
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "colleagues"):
        await invite_colleague(
            db,
            supplier.id,
            email=str(data.get("email", "")).strip(),
            full_name=str(data.get("full_name", "")).strip(),
            role=str(data.get("role", "")),
        )
    return Redirect(path=f"{PAGE}#colleagues")


@post(
    f"{PAGE}/colleagues/{{membership_id:uuid}}",
    guards=[supplier_may(Permission.MANAGE_COLLEAGUES)],
    name="supplier_company_colleague_change",
)
async def change_colleague(
    request: Req, db: Db, user: CurrentUser, workspace: Workspace, membership_id: FromPath[UUID]
) -> Response[Any]:
    """A colleague's role, or their access taken away or given back (`access`: off / on)."""
    data = await request.form()
    role, access = str(data.get("role", "")), str(data.get("access", ""))
    supplier = await _own_supplier(db, user)
    async with _on_section(db, user, workspace, supplier, "colleagues"):
        membership = await colleague(db, supplier.id, membership_id)
        if membership is None:
            raise NotFoundException()
        if access in ("off", "on"):
            # the membership's access epoch moves with it: their sessions end on their next request
            await set_colleague_active(db, membership, access == "on")
        else:
            await set_colleague_role(db, membership, role)
    return Redirect(path=f"{PAGE}#colleagues")


COMPANY_ROUTES = [company, update, request_change, request_bank_change, upload, document_file, invite, change_colleague]
