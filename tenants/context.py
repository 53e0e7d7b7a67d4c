"""TenantContext: which tenant, which party and which identity (and membership) a database transaction acts for."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from uuid import UUID


class PartyKind(enum.StrEnum):
    # staff and system see every party of their tenant; supplier/customer only their own rows.
    STAFF = "staff"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    # trusted platform code (login, tickets, demo seeding) acting without a user's party limits
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class TenantContext:
    tenant_id: UUID | None
    party_kind: PartyKind | None = None
    party_id: UUID | None = None
    identity_id: UUID | None = None
    # who acts, for the audit trail; not sent to the database (RLS never needs it)
    membership_id: UUID | None = None
    # (identity epoch, access epoch) a bearer token was issued with: its request's first round
    # trip refuses to begin once either moved (a password set, a role changed, access taken away)
    epochs: tuple[int, int] | None = None

    @classmethod
    def system(cls, tenant_id: UUID | None, identity_id: UUID | None = None) -> TenantContext:
        return cls(tenant_id=tenant_id, party_kind=PartyKind.SYSTEM, identity_id=identity_id)

    @property
    def settings(self) -> tuple[str, str, str, str]:
        """The values for app.tenant_id, app.party_kind, app.party_id, app.identity_id ('' = unset)."""
        return (
            str(self.tenant_id) if self.tenant_id else "",
            self.party_kind.value if self.party_kind else "",
            str(self.party_id) if self.party_id else "",
            str(self.identity_id) if self.identity_id else "",
        )


# No tenant, no party: every tenant table answers no rows.
NO_CONTEXT = TenantContext(tenant_id=None)
