"""Recording audit events: the one call every state change makes, in the transaction of the change.

    await audit.record(session, "membership.roles_changed", "membership", membership.id,
                       before={"roles": old}, after={"roles": new})

The event keeps only the fields whose values differ (field -> [before, after], JSON-safe), who
acted (from the session's TenantContext unless an `actor` is given, as logins must: they run in
a system context before anyone is logged in), and the id of the HTTP request it came from.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import func, insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.kit.request_id import current_request_id
from backend.models import AuditEvent, Identity
from tenants.isolation import context_of

if TYPE_CHECKING:
    from backend.authz.principal import Principal

# Not logged in: a failed login. The e-mail typed is the only name such an actor has.
ANONYMOUS = "anonymous"
_NAME_LENGTH = 320  # audit_events.actor_name


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted, when it is not the session's own context."""

    kind: str  # staff | supplier | customer | system | anonymous
    identity_id: UUID | None = None
    membership_id: UUID | None = None
    email: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(
            kind=principal.kind,
            identity_id=principal.identity_id,
            membership_id=principal.membership_id,
            email=principal.email,
        )


def snapshot(obj: object, *fields: str) -> dict[str, Any]:
    """The named attributes of an object, for `before=` / `after=`."""
    return {field: getattr(obj, field) for field in fields}


def json_safe(value: Any) -> Any:
    """A value JSONB can hold: ids, amounts, times and enums as text, sets as sorted lists."""
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value)


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | set | frozenset | dict) and not value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """field -> [before, after] for the fields whose values differ. A missing field, None, "" and
    an empty list all mean "no value" to a reader, so going from one to another is no change."""
    changes: dict[str, list[Any]] = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old == new or (_blank(old) and _blank(new)):
            continue
        safe_old, safe_new = json_safe(old), json_safe(new)
        # equal once written down (1.0 and 1.00, a tuple and a list): nothing a reader could see changed
        if safe_old != safe_new:
            changes[field] = [safe_old, safe_new]
    return changes


async def _acting(session: AsyncSession) -> Actor:
    """Who acts in this transaction, as its context names them (the person, their membership and
    party kind)."""
    context = context_of(session)
    email = None
    if context.identity_id is not None:
        identity = await session.get(Identity, context.identity_id)
        email = identity.email if identity else None
    # no party kind: a request nobody is logged in to
    kind = context.party_kind.value if context.party_kind else ANONYMOUS
    return Actor(kind=kind, identity_id=context.identity_id, membership_id=context.membership_id, email=email)


async def record(
    session: AsyncSession,
    action: str,
    object_type: str | None = None,
    object_id: UUID | None = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> None:
    """Append one event to the session's tenant's trail (in its transaction: it commits or rolls back
    with the change it describes)."""
    tenant_id = context_of(session).tenant_id
    if tenant_id is None:
        raise ValueError(f"audit event {action!r} needs a tenant context")
    who = actor or await _acting(session)
    # Core INSERT without RETURNING: nothing is read back, and the ORM's identity map has no use
    # for rows nobody in this transaction will look at.
    await session.execute(
        insert(AuditEvent).values(
            tenant_id=tenant_id,
            # the clock at the statement, not the transaction's start: events of one request stay in order
            occurred_at=func.clock_timestamp(),
            identity_id=who.identity_id,
            membership_id=who.membership_id,
            actor_kind=who.kind,
            actor_name=(who.email or "")[:_NAME_LENGTH] or None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=diff(before or {}, after or {}),
            request_id=current_request_id(),
        )
    )
