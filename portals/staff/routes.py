"""Staff pages: dashboard, suppliers, customers, items and staff users."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.accounts.service import (
    PersonForm,
    RolesForm,
    add_person,
    change_roles,
    list_people,
    resend_invitation,
    set_active,
    staff_membership,
)
from backend.authz.guards import staff
from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, may
from backend.catalog.repository import search_items
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.errors import DomainError
from backend.kit.forms import COUNTRIES, CURRENCIES, bind
from backend.kit.i18n import country_name
from backend.kit.i18n import gettext as _
from backend.kit.pagination import PageRequest
from backend.models import Customer, Membership, MembershipKind, Supplier
from backend.parties.queries import overview
from backend.parties.repository import CustomerRepository, PartyRepository
from backend.parties.service import PartyForm, create_customer, create_supplier
from portals.shared.documents import DocumentsPanel, documents_panel
from portals.shared.forms import form_page
from portals.staff.audit import history_for
from tenants.billing.entitlements import LimitReached
from tenants.directory import TenantInfo

Req = Request[Any, Any, Any]


@get("/", guards=[staff()], name="staff_dashboard")
async def dashboard(db: Db, user: CurrentUser) -> Template:
    figures = await overview(db)
    # A new workspace's first steps, for the people who can take them, until all are done.
    checklist = [
        (_("Invite your colleagues"), "/admin/users", figures.staff > 1, Permission.MANAGE_USERS),
        (_("Invite your suppliers"), "/suppliers/new", figures.suppliers > 0, Permission.MANAGE_SUPPLIERS),
        (_("Add your items"), "/items", figures.items > 0, Permission.VIEW_ITEMS),
    ]
    onboarding = [(label, href, done) for label, href, done, needs in checklist if may(user, needs)]
    return Template(
        template_name="staff/dashboard.html",
        context={
            "counts": figures,
            "by_country": {country_name(country): count for country, count in figures.suppliers_by_country},
            "onboarding": onboarding if not all(done for _label, _href, done in onboarding) else [],
        },
    )


@get("/items", guards=[staff(Permission.VIEW_ITEMS)], name="items")
async def items(db: Db, q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    found = await search_items(db, PageRequest.clamp(page, 25), text=q.strip())
    return Template(template_name="staff/items.html", context={"page": found, "q": q})


# --- staff users --------------------------------------------------------------------------


def _users_context(
    people: Any, q: str, form: PersonForm | None = None, errors: Mapping[str, str] | None = None, **values: Any
) -> dict[str, Any]:
    return {
        "people": people,
        "q": q,
        "form": form or PersonForm(),
        "errors": errors or {},
        "roles": list(StaffRole),
        "row_errors": {},
        "roles_open": "",
        **values,
    }


@get("/admin/users", guards=[staff(Permission.MANAGE_USERS)], name="staff_users")
async def staff_users(db: Db, q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    people = await list_people(db, PageRequest.clamp(page, 25), kind=MembershipKind.STAFF, text=q.strip())
    return Template(template_name="staff/users.html", context=_users_context(people, q))


@post("/admin/users", guards=[staff(Permission.MANAGE_USERS)], name="add_staff_user")
async def add_staff_user(request: Req, db: Db) -> Response[Any]:
    form = bind(PersonForm, await request.form())

    async def again(refused: DomainError) -> dict[str, Any]:
        people = await list_people(db, PageRequest(), kind=MembershipKind.STAFF)
        return _users_context(people, "", form, refused.errors)

    async with form_page("staff/users.html", again):
        await add_person(db, form, kind=MembershipKind.STAFF)
    return Redirect(path="/admin/users")


async def _staff_member(db: Db, membership_id: UUID) -> Membership:
    membership = await staff_membership(db, membership_id)
    if membership is None:
        raise NotFoundException()
    return membership


def _on_membership(db: Db, membership: Membership) -> AbstractAsyncContextManager[None]:
    """A step on one person's row: refused, the users page again, the refusal at the top and
    next to the person it is about."""

    async def again(refused: DomainError) -> dict[str, Any]:
        people = await list_people(db, PageRequest(), kind=MembershipKind.STAFF)
        return _users_context(
            people,
            "",
            notice=refused.message,
            row_errors={str(membership.id): refused.message},
            roles_open=str(membership.id) if "roles" in refused.errors else "",
            errors={"plan": refused.message} if isinstance(refused, LimitReached) else {},
        )

    return form_page("staff/users.html", again)


@post("/admin/users/{membership_id:uuid}/roles", guards=[staff(Permission.MANAGE_USERS)], name="change_staff_roles")
async def change_staff_roles(request: Req, db: Db, membership_id: FromPath[UUID]) -> Response[Any]:
    membership = await _staff_member(db, membership_id)
    async with _on_membership(db, membership):
        await change_roles(db, membership, bind(RolesForm, await request.form()))
    return Redirect(path="/admin/users")


@post("/admin/users/{membership_id:uuid}/deactivate", guards=[staff(Permission.MANAGE_USERS)], name="deactivate_staff")
async def deactivate_staff_user(request: Req, db: Db, membership_id: FromPath[UUID]) -> Response[Any]:
    membership = await _staff_member(db, membership_id)
    async with _on_membership(db, membership):
        await set_active(db, membership, active=False)
    # the membership's access epoch moved with it: their sessions and API tokens end everywhere
    return Redirect(path="/admin/users")


@post("/admin/users/{membership_id:uuid}/invitation", guards=[staff(Permission.MANAGE_USERS)], name="resend_invitation")
async def resend_staff_invitation(request: Req, db: Db, membership_id: FromPath[UUID]) -> Response[Any]:
    """A new invitation link for someone who has not chosen a password yet (the older one stops
    working): the invitation went astray, or expired."""
    membership = await _staff_member(db, membership_id)
    async with _on_membership(db, membership):
        await resend_invitation(db, membership)
    return Redirect(path="/admin/users")


@post("/admin/users/{membership_id:uuid}/reactivate", guards=[staff(Permission.MANAGE_USERS)], name="reactivate_staff")
async def reactivate_staff_user(db: Db, membership_id: FromPath[UUID]) -> Response[Any]:
    membership = await _staff_member(db, membership_id)
    async with _on_membership(db, membership):  # refused: no seat left on the plan
        await set_active(db, membership, active=True)
    return Redirect(path="/admin/users")


# --- suppliers and customers: the same pages for both kinds of party ------------------------


@dataclass(frozen=True)
class PartyPages:
    path: str
    kind: MembershipKind
    repository: type[PartyRepository[Any]]
    view: Permission
    manage: Permission
    detail_template: str = "staff/party_detail.html"

    def labels(self) -> dict[str, str]:
        if self.kind == MembershipKind.SUPPLIER:
            return {"plural": _("Suppliers"), "singular": _("Supplier"), "new": _("New supplier")}
        return {"plural": _("Customers"), "singular": _("Customer"), "new": _("New customer")}

    async def create(self, db: Db, form: PartyForm) -> Supplier | Customer:
        if self.kind == MembershipKind.SUPPLIER:
            return await create_supplier(db, form)
        return await create_customer(db, form)

    def context(self, **values: Any) -> dict[str, Any]:
        return {
            "pages": self,
            "labels": self.labels(),
            "countries": sorted(COUNTRIES),
            "currencies": sorted(CURRENCIES),
            **values,
        }

    async def detail_context(
        self, db: Db, user: Principal, workspace: TenantInfo, party_id: UUID, **values: Any
    ) -> dict[str, Any]:
        party = await self.repository(db).get(party_id)
        if party is None:
            raise NotFoundException()
        people = await list_people(db, PageRequest(size=100), kind=self.kind, party_id=party.id)
        can_manage = may(user, self.manage)
        history = await history_for(db, user, self.kind.value, party.id)
        common = {
            "party": party,
            "people": people,
            "can_manage": can_manage,
            "history": history,
            "documents": await self.documents(db, party.id),
            "form": PersonForm(),
            "errors": {},
        }
        return self.context(**(common | await self.more_detail(db, user, workspace, party) | values))

    async def more_detail(self, db: Db, user: Principal, workspace: TenantInfo, party: Any) -> dict[str, Any]:
        """What one kind of party's page shows besides what all of them share (nothing, here)."""
        return {}

    async def documents(self, db: Db, party_id: UUID) -> DocumentsPanel | None:
        """The party's PDFs and the form that asks for one (only suppliers have documents so far)."""
        if self.kind != MembershipKind.SUPPLIER:
            return None
        request_url = f"/{self.path}/{party_id}/documents"
        return await documents_panel(db, kind=self.kind, party_id=party_id, request_url=request_url)

    def handlers(self) -> dict[str, HTTPRouteHandler]:
        """The pages every kind of party has, by name, for a kind that replaces some of them."""
        pages = self

        @get("/", guards=[staff(pages.view)], name=f"{pages.path}_list")
        async def listing(
            db: Db, user: CurrentUser, q: FromQuery[str] = "", status: FromQuery[str] = "", page: FromQuery[int] = 1
        ) -> Template:
            found = await pages.repository(db).search(PageRequest.clamp(page, 25), text=q.strip(), status=status)
            can_manage = may(user, pages.manage)
            context = pages.context(page=found, q=q, status=status, can_manage=can_manage)
            return Template(template_name="staff/parties.html", context=context)

        @get("/new", guards=[staff(pages.manage)], name=f"{pages.path}_new")
        async def new(workspace: Workspace) -> Template:
            form = PartyForm(currency=workspace.currency)
            return Template(template_name="staff/party_form.html", context=pages.context(form=form, errors={}))

        @post("/", guards=[staff(pages.manage)], name=f"{pages.path}_create")
        async def create(request: Req, db: Db) -> Response[Any]:
            form = bind(PartyForm, await request.form())
            async with form_page(
                "staff/party_form.html", lambda refused: pages.context(form=form, errors=refused.errors)
            ):
                party = await pages.create(db, form)
            return Redirect(path=f"/{pages.path}/{party.id}")

        @get("/{party_id:uuid}", guards=[staff(pages.view)], name=f"{pages.path}_detail")
        async def detail(db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]) -> Template:
            return Template(
                template_name=pages.detail_template,
                context=await pages.detail_context(db, user, workspace, party_id),
            )

        @post("/{party_id:uuid}/users", guards=[staff(pages.manage)], name=f"{pages.path}_add_user")
        async def add_user(
            request: Req, db: Db, user: CurrentUser, workspace: Workspace, party_id: FromPath[UUID]
        ) -> Response[Any]:
            party = await pages.repository(db).get(party_id)
            if party is None:
                raise NotFoundException()
            form = bind(PersonForm, await request.form())
            party_column = "supplier_id" if pages.kind == MembershipKind.SUPPLIER else "customer_id"

            async def again(refused: DomainError) -> dict[str, Any]:
                return await pages.detail_context(db, user, workspace, party_id, form=form, errors=refused.errors)

            async with form_page(pages.detail_template, again):
                await add_person(db, form, kind=pages.kind, **{party_column: party.id})
            return Redirect(path=f"/{pages.path}/{party.id}")

        return {"listing": listing, "new": new, "create": create, "detail": detail, "add_user": add_user}

    def router(self) -> Router:
        return Router(path=f"/{self.path}", route_handlers=list(self.handlers().values()))


# Suppliers have pages of their own on top of these: portals/staff/suppliers/
CUSTOMER_PAGES = PartyPages(
    "customers", MembershipKind.CUSTOMER, CustomerRepository, Permission.VIEW_CUSTOMERS, Permission.MANAGE_CUSTOMERS
)

STAFF_ROUTES = [
    dashboard,
    items,
    staff_users,
    add_staff_user,
    change_staff_roles,
    deactivate_staff_user,
    resend_staff_invitation,
    reactivate_staff_user,
    CUSTOMER_PAGES.router(),
]
