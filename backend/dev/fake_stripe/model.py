"""The fake Stripe's records and its clock: plain dataclasses the state module changes and renders
into Stripe's JSON, ids shaped like Stripe's, and calendar arithmetic for billing periods."""

from __future__ import annotations

import calendar
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DAY = 86_400
HOUR = 3_600
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """An id like Stripe's: a type prefix and random letters and digits (`sub_1Q…`, `cus_Nff…`)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def add_months(timestamp: int, months: int) -> int:
    """The same wall time `months` calendar months later (UTC), the day clamped to the month's
    length, as Stripe bills: an anchor on 31 January renews on 28/29 February, then 31 March."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month_index = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month_index + 1)[1])
    return int(moment.replace(year=year, month=month_index + 1, day=day).timestamp())


def period_boundary(anchor: int, interval: str, interval_count: int, periods: int) -> int:
    """The start of the `periods`-th billing period counted from the anchor. Always computed from the
    anchor, so clamped short months do not drift the billing day."""
    if interval == "month":
        return add_months(anchor, interval_count * periods)
    if interval == "year":
        return add_months(anchor, 12 * interval_count * periods)
    if interval == "week":
        return anchor + 7 * DAY * interval_count * periods
    return anchor + DAY * interval_count * periods


class FakeClock:
    """The one notion of "now" every timestamp comes from. It starts at the real time and only moves
    forward, when told to (the control API, or FakeStripe.advance)."""

    def __init__(self, now: int | None = None) -> None:
        self._now = int(time.time()) if now is None else now

    @property
    def now(self) -> int:
        return self._now

    def move_to(self, timestamp: int) -> None:
        if timestamp < self._now:
            raise ValueError("the fake clock only moves forward")
        self._now = timestamp

    def reset(self, now: int | None = None) -> None:
        self._now = int(time.time()) if now is None else now


@dataclass
class Customer:
    id: str
    created: int
    email: str | None
    name: str | None
    description: str | None
    phone: str | None
    metadata: dict[str, str]
    invoice_prefix: str
    next_invoice_sequence: int = 1
    balance: int = 0
    currency: str | None = None
    default_payment_method: str | None = None
    # the simulated card: False = every charge succeeds; True = every charge is declined
    card_fails: bool = False


@dataclass
class Product:
    id: str
    created: int
    updated: int
    name: str
    description: str | None
    active: bool
    metadata: dict[str, str]


@dataclass
class Price:
    id: str
    created: int
    product: str
    currency: str
    unit_amount: int
    interval: str | None
    interval_count: int
    lookup_key: str | None
    nickname: str | None
    active: bool
    metadata: dict[str, str]


@dataclass
class CheckoutLine:
    id: str
    price: str
    quantity: int


@dataclass
class CheckoutSession:
    id: str
    created: int
    expires_at: int
    mode: str
    customer: str | None
    customer_email: str | None
    client_reference_id: str | None
    success_url: str | None
    cancel_url: str | None
    lines: list[CheckoutLine]
    trial_period_days: int | None
    subscription_metadata: dict[str, str]
    metadata: dict[str, str]
    tax_id_collection: bool
    status: str = "open"
    payment_status: str = "unpaid"
    subscription: str | None = None
    completed_at: int | None = None


@dataclass
class SubscriptionItem:
    id: str
    created: int
    price: str
    quantity: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class LineItem:
    """One line of an invoice: a subscription item for a period, or a proration of one."""

    id: str
    amount: int
    currency: str
    description: str
    period_start: int
    period_end: int
    price: str
    quantity: int
    proration: bool
    subscription: str | None
    subscription_item: str | None
    invoice_item: str | None = None


@dataclass
class Subscription:
    id: str
    created: int
    customer: str
    currency: str
    items: list[SubscriptionItem]
    status: str
    metadata: dict[str, str]
    start_date: int
    billing_cycle_anchor: int
    # the current period is [anchor + period_index periods, anchor + period_index + 1 periods);
    # -1 is the trial, which ends at the anchor
    period_index: int
    current_period_start: int
    current_period_end: int
    trial_start: int | None = None
    trial_end: int | None = None
    trial_will_end_sent: bool = False
    cancel_at: int | None = None
    cancel_at_period_end: bool = False
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    latest_invoice: str | None = None
    default_payment_method: str | None = None
    # prorations waiting for the next invoice (Stripe's pending invoice items)
    pending_lines: list[LineItem] = field(default_factory=list)


@dataclass
class Invoice:
    id: str
    created: int
    customer: str
    subscription: str | None
    subscription_metadata: dict[str, str]
    billing_reason: str
    currency: str
    lines: list[LineItem]
    period_start: int
    period_end: int
    customer_email: str | None
    customer_name: str | None
    status: str = "draft"
    number: str | None = None
    starting_balance: int = 0
    ending_balance: int | None = None
    amount_due: int = 0
    amount_paid: int = 0
    attempt_count: int = 0
    attempted: bool = False
    auto_advance: bool = True
    next_payment_attempt: int | None = None
    first_failed_at: int | None = None
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass
class PortalSession:
    id: str
    created: int
    customer: str
    return_url: str | None
    configuration: str


@dataclass
class IdempotentResult:
    """The first answer to a request with an Idempotency-Key, and what it asked (to spot reuse)."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]


ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cny": "¥", "jpy": "¥"}


def format_amount(amount: int, currency: str, *, ascii_only: bool = False) -> str:
    """An amount in minor units as people read it: 2900 usd → "$29.00", 1500 jpy → "¥1500"
    ("1500 JPY" when only ASCII will do)."""
    currency = currency.lower()
    sign = "-" if amount < 0 else ""
    if currency in ZERO_DECIMAL_CURRENCIES:
        number = str(abs(amount))
    else:
        number = f"{abs(amount) // 100}.{abs(amount) % 100:02d}"
    symbol = _SYMBOLS.get(currency)
    if symbol and ascii_only and not symbol.isascii():
        symbol = None
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency.upper()}"


def format_date(timestamp: int) -> str:
    """A date as Stripe writes it in descriptions: "10 Jan 2026"."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment.day} {moment:%b %Y}"
