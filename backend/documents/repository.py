"""Every query on documents. The party scope of the session applies by default: a supplier
user's queries see only their own supplier's documents, a customer user's only their own
customer's (the documents table's RLS party policy enforces the same underneath)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.models import Document, DocumentStatus, MembershipKind
from tenants.context import PartyKind
from tenants.isolation import context_of


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _scoped(self) -> Select[tuple[Document]]:
        context = context_of(self.session)
        query = select(Document)
        if context.party_kind in (PartyKind.STAFF, PartyKind.SYSTEM):
            return query
        if context.party_kind == PartyKind.SUPPLIER:
            return query.where(Document.supplier_id == context.party_id)
        if context.party_kind == PartyKind.CUSTOMER:
            return query.where(Document.customer_id == context.party_id)
        return query.where(false())

    async def get(self, document_id: UUID, *, for_update: bool = False) -> Document | None:
        query = self._scoped().where(Document.id == document_id)
        result: Document | None = await self.session.scalar(query.with_for_update() if for_update else query)
        return result

    async def of_party(self, kind: MembershipKind, party_id: UUID, *, limit: int = 10) -> list[Document]:
        """A supplier's or customer's latest documents, newest first."""
        column = Document.supplier_id if kind == MembershipKind.SUPPLIER else Document.customer_id
        query = self._scoped().where(column == party_id).order_by(Document.created_at.desc(), Document.id.desc())
        return list(await self.session.scalars(query.limit(limit)))

    async def pending(
        self, kind: str, object_type: str, object_id: UUID, locale: str, *, since: datetime
    ) -> Document | None:
        """The same document, asked for since `since` and still waiting to be rendered, if any."""
        query = self._scoped().where(
            Document.kind == kind,
            Document.object_type == object_type,
            Document.object_id == object_id,
            Document.locale == locale,
            Document.status == DocumentStatus.PENDING,
            Document.created_at >= since,
        )
        result: Document | None = await self.session.scalar(query.order_by(Document.created_at.desc()).limit(1))
        return result

    async def add(self, document: Document) -> Document:
        self.session.add(document)
        await self.session.flush()
        return document
