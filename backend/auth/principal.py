"""Who is making a request: a member of the host's tenant, or an identity on the apex host."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from backend.models.membership import MembershipKind
from tenants.context import PartyKind, TenantContext


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: UUID
    identity_id: UUID
    membership_id: UUID
    kind: str
    party_id: UUID | None
    roles: frozenset[str]
    email: str
    name: str
    locale: str | None = None

    @property
    def context(self) -> TenantContext:
        return TenantContext(
            tenant_id=self.tenant_id,
            party_kind=PartyKind(self.kind),
            party_id=self.party_id,
            identity_id=self.identity_id,
            membership_id=self.membership_id,
        )

    @property
    def is_staff(self) -> bool:
        return self.kind == MembershipKind.STAFF


@dataclass(frozen=True, slots=True)
class ApexUser:
    """Logged in on the apex host: may list and enter its workspaces, nothing more."""

    identity_id: UUID
    email: str
    name: str
    locale: str | None = None
