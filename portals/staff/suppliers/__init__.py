"""Staff supplier master, one module per page: the list and its CSV export (listing), the review
queue and reviews (review), invitations, the supplier 360 page (pages) and the decisions taken
there (decisions). Reads come from backend/suppliers/queries.py, rules from the other modules of
backend/suppliers; these modules route, bind, call and render."""

from __future__ import annotations

from litestar import Router

from portals.staff.suppliers.decisions import block_or_unblock, decide_change, set_risk_tier
from portals.staff.suppliers.invitations import invite_form, invite_supplier, resend
from portals.staff.suppliers.listing import export, listing
from portals.staff.suppliers.pages import SUPPLIER_PAGES
from portals.staff.suppliers.review import (
    download_document,
    registrations,
    review_registration,
    review_supplier_document,
)


def _router() -> Router:
    shared = SUPPLIER_PAGES.handlers()
    del shared["listing"]  # replaced: more filters, and the export
    handlers = [
        listing,
        export,
        registrations,
        invite_form,
        invite_supplier,
        resend,
        *shared.values(),
        review_registration,
        review_supplier_document,
        download_document,
        decide_change,
        set_risk_tier,
        block_or_unblock,
    ]
    return Router(path=f"/{SUPPLIER_PAGES.path}", route_handlers=handlers)


SUPPLIER_ROUTES = [_router()]
