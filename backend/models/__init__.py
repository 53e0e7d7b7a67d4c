"""ORM models: every table of Merkato, imported here so Alembic and the app see one metadata."""

from backend.models.apex_session import ApexSession
from backend.models.counter import Counter
from backend.models.customer import Customer
from backend.models.identity import Identity
from backend.models.item import Item
from backend.models.login_failure import LoginFailure
from backend.models.login_ticket import LoginTicket
from backend.models.membership import Membership, MembershipKind
from backend.models.supplier import Supplier
from backend.models.tenant import Tenant, TenantStatus
from backend.models.web_session import WebSession

__all__ = [
    "ApexSession",
    "Counter",
    "Customer",
    "Identity",
    "Item",
    "LoginFailure",
    "LoginTicket",
    "Membership",
    "MembershipKind",
    "Supplier",
    "Tenant",
    "TenantStatus",
    "WebSession",
]
