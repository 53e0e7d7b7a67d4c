"""The audit trail for staff: /admin/audit (filter, page, newest first) and the history section
that object pages show. Both need the VIEW_AUDIT permission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import get
from litestar.params import FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST

from backend.audit.labels import action_labels, field_labels, object_type_labels
from backend.audit.repository import AuditEntry, AuditFilter, AuditRepository
from backend.audit.service import ANONYMOUS
from backend.authz.guards import staff
from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, may
from backend.dependencies import Db, Workspace
from backend.kit.forms import FieldErrors
from backend.kit.i18n import gettext as _
from backend.kit.pagination import Page, PageRequest
from backend.models import MembershipKind
from backend.models.party import PartyStatus
from tenants.context import PartyKind

HISTORY_SIZE = 20
# where an object's own page is, by object type
_OBJECT_PAGES = {"supplier": "/suppliers/{id}", "customer": "/customers/{id}"}


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str | None  # None: the field had no value (a creation shows only the new value)
    after: str


@dataclass(frozen=True, slots=True)
class EventView:
    """One event as a table row shows it, in the reader's language."""

    occurred_at: datetime
    actor: str
    actor_note: str  # the e-mail under a name, or why there is no name
    action: str
    object_label: str
    object_name: str | None
    object_href: str | None
    changes: list[Change]
    request_id: str | None


NO_VALUE = "—"


def _value(field: str, value: Any) -> str:
    if value is None or value in ("", []):
        return NO_VALUE
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(_value(field, item) for item in value)
    if field == "roles":
        return StaffRole.label_of(str(value))
    if field == "status":
        return PartyStatus.label_of(str(value))
    if field == "kind":
        return MembershipKind.label_of(str(value))
    return str(value)


def _view(entry: AuditEntry) -> EventView:
    event = entry.event
    fields = field_labels()
    changes = []
    for field, (before, after) in sorted(event.changes.items()):
        shown_before = _value(field, before)
        changes.append(
            Change(
                field=fields.get(field, field),
                before=None if shown_before == NO_VALUE else shown_before,
                after=_value(field, after),
            )
        )
    if event.actor_kind == PartyKind.SYSTEM:
        actor, note = _("System"), ""
    elif event.actor_kind == ANONYMOUS:
        actor, note = event.actor_name or NO_VALUE, _("not logged in")
    else:
        actor, note = entry.actor_full_name or event.actor_name or NO_VALUE, event.actor_name or ""
    href = _OBJECT_PAGES.get(event.object_type or "")
    return EventView(
        occurred_at=event.occurred_at,
        actor=actor,
        actor_note=note,
        action=action_labels().get(event.action, event.action),
        object_label=object_type_labels().get(event.object_type or "", event.object_type or ""),
        object_name=entry.object_name,
        object_href=href.format(id=event.object_id) if href and event.object_id else None,
        changes=changes,
        request_id=event.request_id,
    )


def _views(page: Page[AuditEntry]) -> Page[EventView]:
    return Page(items=[_view(entry) for entry in page.items], total=page.total, request=page.request)


async def history_for(db: Db, reader: Principal, object_type: str, object_id: UUID) -> Page[EventView] | None:
    """An object's latest events for its page, or None for a reader without VIEW_AUDIT."""
    if not may(reader, Permission.VIEW_AUDIT):
        return None
    found = await AuditRepository(db).history(object_type, object_id, PageRequest(size=HISTORY_SIZE))
    return _views(found)


def _day(value: str, field: str, errors: FieldErrors) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = _("Enter a date as YYYY-MM-DD.")
        return None


@get("/admin/audit", guards=[staff(Permission.VIEW_AUDIT)], name="audit_trail")
async def audit_trail(
    db: Db,
    workspace: Workspace,
    action: FromQuery[str] = "",
    object_type: FromQuery[str] = "",
    object_id: FromQuery[UUID | None] = None,
    actor: FromQuery[str] = "",
    date_from: FromQuery[str] = "",
    date_to: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    """Dates are days on the workspace's clock, both ends included."""
    errors = FieldErrors()
    first, last = _day(date_from.strip(), "date_from", errors), _day(date_to.strip(), "date_to", errors)
    if first and last and last < first:
        errors["date_to"] = _("The end date is before the start date.")
    zone = ZoneInfo(workspace.timezone)
    filters = AuditFilter(
        action=action.strip(),
        object_type=object_type.strip(),
        object_id=object_id,
        actor=actor.strip(),
        since=datetime.combine(first, time.min, zone) if first and not errors else None,
        until=datetime.combine(last + timedelta(days=1), time.min, zone) if last and not errors else None,
    )
    found = await AuditRepository(db).search(PageRequest.clamp(page, 50), filters)
    query = {"action": action, "object_type": object_type, "object_id": object_id or "", "actor": actor}
    query |= {"date_from": date_from, "date_to": date_to}
    encoded = urlencode({key: value for key, value in query.items() if value})
    context = {
        "page": _views(found),
        "filters": query,
        "paging_query": f"&{encoded}" if encoded else "",
        "errors": errors,
        "actions": sorted(action_labels().items(), key=lambda item: item[1]),
        "object_types": sorted(object_type_labels().items(), key=lambda item: item[1]),
    }
    status = HTTP_400_BAD_REQUEST if errors else HTTP_200_OK
    return Template(template_name="staff/audit.html", context=context, status_code=status)


AUDIT_ROUTES = [audit_trail]
