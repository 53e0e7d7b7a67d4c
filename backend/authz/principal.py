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
    # the identity's credential epoch and the membership's access epoch this login was made with
    identity_epoch: int = 0
    access_epoch: int = 0
    # from a bearer token: its epochs are checked on the request's first round trip (a session's
    # were checked by the middleware that resolved it)
    from_token: bool = False

    @property
    def context(self) -> TenantContext:
        return TenantContext(
            tenant_id=self.tenant_id,
            party_kind=PartyKind(self.kind),
            party_id=self.party_id,
            identity_id=self.identity_id,
            membership_id=self.membership_id,
            epochs=(self.identity_epoch, self.access_epoch) if self.from_token else None,
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
