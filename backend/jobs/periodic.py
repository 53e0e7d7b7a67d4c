"""Periodic jobs, declared here and nowhere else: an actor and a cron expression (UTC; a sixth
field is seconds). The relay enqueues one job per tenant per period, keyed by the period, so any
number of relays running at once still make exactly one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter


@dataclass(frozen=True, slots=True)
class Periodic:
    actor: str
    cron: str

    def period_start(self, now: datetime) -> datetime:
        """The latest scheduled instant at or before now."""
        start: datetime = croniter(self.cron, now).get_prev(datetime)
        if croniter.match(self.cron, now.replace(microsecond=0)):
            return now.replace(microsecond=0)
        return start

    def key(self, start: datetime) -> str:
        return f"periodic:{self.actor}:{start:%Y%m%dT%H%M%S}"


PERIODIC: tuple[Periodic, ...] = (
    # expired sessions, tickets and one-time links of each tenant
    Periodic("auth.purge_expired", "17 3 * * *"),
    # supplier documents about to expire (reminders) or expired (qualification lost)
    Periodic("suppliers.check_documents", "5 2 * * *"),
)
