"""The supplier list (search, filters, paging) and its CSV export: the same search, the same rows."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator, Iterable
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromQuery
from litestar.response import Stream, Template

from backend.authz.guards import staff
from backend.authz.principal import Principal
from backend.authz.roles import Permission, may
from backend.dependencies import CurrentUser, Db, Workspace
from backend.kit.i18n import gettext as _
from backend.kit.pagination import PageRequest
from backend.models import QualificationStatus
from backend.models.party import PartyStatus, RiskTier
from backend.parties.queries import ExportRow, SupplierFilter, export_batches, search_suppliers
from portals.shared.clock import workspace_today
from portals.staff.suppliers.pages import SUPPLIER_PAGES, Req, risk_tiers

EXPORT_BATCH = 500
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NO_STORE = {"cache-control": "private, no-store"}


def _encoded(filters: SupplierFilter) -> str:
    values = {"q": filters.text, "status": filters.status, "risk": filters.risk, "qualification": filters.qualification}
    return urlencode({key: value for key, value in values.items() if value})


@get("/", guards=[staff(Permission.VIEW_SUPPLIERS)], name="suppliers_list")
async def listing(
    db: Db,
    user: CurrentUser,
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    risk: FromQuery[str] = "",
    qualification: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    filters = SupplierFilter(text=q.strip(), status=status, risk=risk, qualification=qualification)
    found = await search_suppliers(db, filters, PageRequest.clamp(page, 25))
    encoded = _encoded(filters)
    context = SUPPLIER_PAGES.context(
        page=found,
        filters=filters,
        paging_query=f"&{encoded}" if encoded else "",
        export_url="/suppliers/export.csv" + (f"?{encoded}" if encoded else ""),
        risk_tiers=risk_tiers(),
        qualification_statuses=[(status.value, status.label) for status in QualificationStatus],
        risk_label=RiskTier.label_of,
        can_manage=may(user, Permission.MANAGE_SUPPLIERS),
    )
    return Template(template_name="staff/supplier_list.html", context=context)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def _csv_rows(rows: Iterable[Iterable[object]]) -> bytes:
    """RFC 4180: CRLF line ends, fields with commas, quotes or line breaks in double quotes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode()


def _export_row(row: ExportRow) -> list[object]:
    s = row.supplier
    categories = "; ".join(f"{name} ({QualificationStatus.label_of(status)})" for name, status in row.categories)
    return [
        s.number,
        s.name,
        s.trading_name,
        s.country,
        s.tax_id,
        PartyStatus.label_of(s.status),
        RiskTier.label_of(s.risk_tier),
        s.risk_reason,
        categories,
        s.email,
        s.phone,
        s.website,
        s.street,
        s.postal_code,
        s.city,
        s.currency,
    ]


async def _export_rows(request: Req, reader: Principal, filters: SupplierFilter) -> AsyncIterator[bytes]:
    """The matching suppliers in batches, read in a transaction of the caller's own context that
    lives as long as the download (the request's own ends when the handler returns the stream)."""
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
    async with request.app.state.db.transaction(reader.context) as session:
        async for batch in export_batches(session, filters, size=EXPORT_BATCH):
            yield _csv_rows(_export_row(row) for row in batch)


@get("/export.csv", guards=[staff(Permission.VIEW_SUPPLIERS)], name="suppliers_export")
async def export(
    request: Req,
    user: CurrentUser,
    workspace: Workspace,
    q: FromQuery[str] = "",
    status: FromQuery[str] = "",
    risk: FromQuery[str] = "",
    qualification: FromQuery[str] = "",
) -> Stream:
    filters = SupplierFilter(text=q.strip(), status=status, risk=risk, qualification=qualification)
    filename = f"suppliers-{workspace_today(workspace).isoformat()}.csv"
    return Stream(
        _export_rows(request, user, filters),
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={**NO_STORE, "content-disposition": f'attachment; filename="{filename}"'},
    )
