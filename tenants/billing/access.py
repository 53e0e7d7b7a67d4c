"""What a workspace may do, from its subscription's state: the one state table.

trialing/active → full access; past_due → full access with a banner, for a grace period counted
from the first failed payment; unpaid, canceled, incomplete, incomplete_expired, paused, grace
over, or any status we do not know → read-only (staff read and export; nobody changes anything).
No subscription at all means billing is off (self-hosted): full access.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime, timedelta

from backend.kit.i18n import gettext as _
from backend.kit.labels import LabelledEnum

log = logging.getLogger("merkato.billing")


class Access(enum.StrEnum):
    FULL = "full"
    GRACE = "grace"  # full access, but the payment failed: owners and admins see a banner
    READ_ONLY = "read_only"

    @property
    def writable(self) -> bool:
        return self != Access.READ_ONLY


class SubscriptionStatus(LabelledEnum):
    """Every status a Stripe subscription can have."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"

    @property
    def label(self) -> str:
        return {
            SubscriptionStatus.INCOMPLETE: _("Incomplete"),
            SubscriptionStatus.INCOMPLETE_EXPIRED: _("Expired"),
            SubscriptionStatus.TRIALING: _("Trial"),
            SubscriptionStatus.ACTIVE: _("Active"),
            SubscriptionStatus.PAST_DUE: _("Payment failed"),
            SubscriptionStatus.UNPAID: _("Unpaid"),
            SubscriptionStatus.CANCELED: _("Canceled"),
            SubscriptionStatus.PAUSED: _("Paused"),
        }[self]


_FULL = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE})
# A subscription in one of these still stands for the customer's intent to pay: it is the one a
# tenant follows when Stripe holds several (an old canceled one and a new one, say).
LIVE = frozenset({*_FULL, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID, SubscriptionStatus.PAUSED})


def access_for(status: str | None, past_due_since: datetime | None, *, now: datetime, grace: timedelta) -> Access:
    if status is None:
        return Access.FULL
    if status in _FULL:
        return Access.FULL
    if status == SubscriptionStatus.PAST_DUE:
        if past_due_since is not None and now >= past_due_since + grace:
            return Access.READ_ONLY
        return Access.GRACE
    if status not in SubscriptionStatus.__members__.values():
        log.error("unknown Stripe subscription status %r: read-only until it is understood", status)
    return Access.READ_ONLY


def grace_ends(past_due_since: datetime | None, grace: timedelta) -> datetime | None:
    return past_due_since + grace if past_due_since else None
