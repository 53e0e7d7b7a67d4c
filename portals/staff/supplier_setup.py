"""Staff set up what the tenant asks of its suppliers (/suppliers/setup): categories, the document
checklist of each, and the supplier terms. The rules are backend/suppliers/setup.py's; these
pages run in the staff member's own context, so the trail names them."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backend.authz.guards import staff
from backend.authz.roles import Permission
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.errors import DomainError
from backend.kit.forms import bind
from backend.suppliers import queries
from backend.suppliers.setup import (
    CategoryForm,
    RequirementForm,
    add_category,
    add_requirement,
    current_terms,
    office_format_choices,
    publish_terms,
    remove_requirement,
    requirement_to_remove,
    set_office_formats,
)
from portals.shared.clock import workspace_today
from portals.shared.forms import form_page

Req = Request[Any, Any, Any]
TEMPLATE = "staff/supplier_setup.html"
PATH = "/suppliers/setup"


async def _context(db: Db, **values: Any) -> dict[str, Any]:
    categories = await queries.categories(db)
    names = {category.id: category.name for category in categories}
    requirements = await queries.requirements_by_category(db)
    terms = await current_terms(db)
    context: dict[str, Any] = {
        "categories": categories,
        "parent_name": lambda category: names.get(category.parent_id, ""),
        "requirements": requirements,
        # the document types in use, so a second category can ask for the same document
        "document_types": sorted({(r.document_type, r.name) for rs in requirements.values() for r in rs}),
        "terms": terms,
        "category_form": CategoryForm(),
        "category_errors": {},
        "requirement_form": RequirementForm(expires="yes"),
        "requirement_errors": {},
        "requirement_category": None,
        "terms_body": terms.body if terms else "",
        "terms_errors": {},
        "office_formats": await office_format_choices(db),
        "uploads_errors": {},
    }
    context.update(values)
    return context


@get("/", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_setup")
async def setup_page(db: Db) -> Template:
    return Template(template_name=TEMPLATE, context=await _context(db))


@post("/categories", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_setup_category")
async def new_category(request: Req, db: Db) -> Response[Any]:
    form = bind(CategoryForm, await request.form())
    async with form_page(TEMPLATE, lambda refused: _context(db, category_form=form, category_errors=refused.errors)):
        category = await add_category(db, form)
    return Redirect(path=f"{PATH}#category-{category.id}")


@post(
    "/categories/{category_id:uuid}/requirements",
    guards=[staff(Permission.MANAGE_SUPPLIERS)],
    name="supplier_setup_requirement",
)
async def new_requirement(request: Req, db: Db, workspace: Workspace, category_id: FromPath[UUID]) -> Response[Any]:
    category = await queries.category(db, category_id)
    if category is None:
        raise NotFoundException()
    form = bind(RequirementForm, await request.form())

    def again(refused: DomainError) -> Awaitable[dict[str, Any]]:
        return _context(db, requirement_form=form, requirement_errors=refused.errors, requirement_category=category.id)

    async with form_page(TEMPLATE, again):
        await add_requirement(db, category, form, today=workspace_today(workspace))
    return Redirect(path=f"{PATH}#category-{category.id}")


@post(
    "/requirements/{requirement_id:uuid}/remove",
    guards=[staff(Permission.MANAGE_SUPPLIERS)],
    name="supplier_setup_requirement_remove",
)
async def drop_requirement(db: Db, workspace: Workspace, requirement_id: FromPath[UUID]) -> Response[Any]:
    requirement = await requirement_to_remove(db, requirement_id)
    if requirement is None:
        raise NotFoundException()
    await remove_requirement(db, requirement, today=workspace_today(workspace))
    return Redirect(path=f"{PATH}#category-{requirement.category_id}")


@post("/terms", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_setup_terms")
async def new_terms(request: Req, db: Db, user: CurrentUser) -> Response[Any]:
    body = str((await request.form()).get("body", ""))
    async with form_page(TEMPLATE, lambda refused: _context(db, terms_body=body, terms_errors=refused.errors)):
        await publish_terms(db, body, publisher=user.identity_id)
    return Redirect(path=f"{PATH}#terms")


@post("/uploads", guards=[staff(Permission.MANAGE_SUPPLIERS)], name="supplier_setup_uploads")
async def office_formats(request: Req, db: Db) -> Response[Any]:
    data = await request.form()
    async with form_page(TEMPLATE, lambda refused: _context(db, uploads_errors=refused.errors)):
        await set_office_formats(db, [str(value) for value in data.getall("office", [])])
    return Redirect(path=f"{PATH}#uploads")


SETUP_ROUTES = Router(
    path=PATH, route_handlers=[setup_page, new_category, new_requirement, drop_requirement, new_terms, office_formats]
)
