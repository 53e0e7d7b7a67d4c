"""Reading the audit trail: the filtered, paged list for staff administrators and one object's
history. Only staff (and system) contexts read it; RLS says the same underneath."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.pagination import Page, PageRequest
from backend.models import AuditEvent, Customer, Identity, Membership, Supplier
from tenants.context import PartyKind
from tenants.isolation import context_of


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str = ""
    object_type: str = ""
    object_id: UUID | None = None
    actor: str = ""  # part of the actor's e-mail (as recorded) or name
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class AuditEntry:
    event: AuditEvent
    actor_full_name: str | None  # the actor's name today (the event keeps the e-mail of the time)
    object_name: str | None  # the object's name today, where it has one


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self) -> Select[tuple[AuditEvent, str | None]]:
        # outer join: failed logins and system events have no identity, hence no name (the cast
        # says so; the column's own type cannot)
        query = cast(
            "Select[tuple[AuditEvent, str | None]]",
            select(AuditEvent, Identity.full_name).outerjoin(Identity, Identity.id == AuditEvent.identity_id),
        )
        if context_of(self.session).party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
            return query
        return query.where(false())

    async def search(self, request: PageRequest, filters: AuditFilter) -> Page[AuditEntry]:
        """Newest first."""
        query = self._scoped()
        if filters.action:
            query = query.where(AuditEvent.action == filters.action)
        if filters.object_type:
            query = query.where(AuditEvent.object_type == filters.object_type)
        if filters.object_id is not None:
            query = query.where(AuditEvent.object_id == filters.object_id)
        if filters.actor:
            query = query.where(
                or_(
                    AuditEvent.actor_name.icontains(filters.actor, autoescape=True),
                    Identity.full_name.icontains(filters.actor, autoescape=True),
                )
            )
        if filters.since is not None:
            query = query.where(AuditEvent.occurred_at >= filters.since)
        if filters.until is not None:
            query = query.where(AuditEvent.occurred_at < filters.until)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (
            await self.session.execute(
                query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                .limit(request.size)
                .offset(request.offset)
            )
        ).all()
        names = await self._object_names([event for event, _ in rows])
        entries = [
            AuditEntry(
                event=event, actor_full_name=full_name, object_name=names.get((event.object_type, event.object_id))
            )
            for event, full_name in rows
        ]
        return Page(items=entries, total=total or 0, request=request)

    async def history(self, object_type: str, object_id: UUID, request: PageRequest) -> Page[AuditEntry]:
        """One object's events, newest first."""
        return await self.search(request, AuditFilter(object_type=object_type, object_id=object_id))

    async def _object_names(self, events: Sequence[AuditEvent]) -> dict[tuple[str | None, UUID | None], str]:
        """Current names of the objects on one page, in one query per kind of object."""
        wanted: dict[str, set[UUID]] = defaultdict(set)
        for event in events:
            if event.object_type and event.object_id:
                wanted[event.object_type].add(event.object_id)
        names: dict[tuple[str | None, UUID | None], str] = {}
        for object_type, model in (("supplier", Supplier), ("customer", Customer)):
            if ids := wanted.get(object_type):
                for object_id, name in await self.session.execute(
                    select(model.id, model.name).where(model.id.in_(ids))
                ):
                    names[object_type, object_id] = name
        if ids := wanted.get("membership"):
            people = await self.session.execute(
                select(Membership.id, Identity.full_name)
                .join(Identity, Identity.id == Membership.identity_id)
                .where(Membership.id.in_(ids))
            )
            for object_id, name in people:
                names["membership", object_id] = name
        return names
