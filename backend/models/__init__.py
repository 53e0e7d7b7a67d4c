"""ORM models: every table of Merkato, imported here so Alembic and the app see one metadata."""

from backend.models.account_link import AccountLink, LinkPurpose
from backend.models.apex_session import ApexSession
from backend.models.audit_event import AuditEvent
from backend.models.change_request import (
    BankAccountStatus,
    ChangeKind,
    ChangeStatus,
    SupplierBankAccount,
    SupplierChangeRequest,
)
from backend.models.counter import Counter
from backend.models.customer import Customer
from backend.models.document import Document, DocumentStatus
from backend.models.identity import Credential, Identity
from backend.models.item import Item
from backend.models.login_failure import LoginFailure
from backend.models.login_ticket import LoginTicket
from backend.models.membership import Membership, MembershipKind
from backend.models.notification import Notification
from backend.models.outbox import JobStatus, OutboxJob
from backend.models.outgoing_mail import MailStatus, OutgoingMail
from backend.models.qualification import (
    DocumentRequirement,
    QualificationStatus,
    SupplierCategory,
    SupplierDocument,
    SupplierQualification,
)
from backend.models.qualification import DocumentStatus as SupplierDocumentStatus
from backend.models.registration import RegistrationStatus, SupplierContact, SupplierRegistration, SupplierTerms
from backend.models.stripe_event import StripeEvent
from backend.models.supplier import Supplier
from backend.models.tenant import Tenant, TenantStatus
from backend.models.web_session import WebSession

__all__ = [
    "AccountLink",
    "ApexSession",
    "AuditEvent",
    "BankAccountStatus",
    "ChangeKind",
    "ChangeStatus",
    "Counter",
    "Credential",
    "Customer",
    "Document",
    "DocumentRequirement",
    "DocumentStatus",
    "Identity",
    "Item",
    "JobStatus",
    "LinkPurpose",
    "LoginFailure",
    "LoginTicket",
    "MailStatus",
    "Membership",
    "MembershipKind",
    "Notification",
    "OutboxJob",
    "OutgoingMail",
    "QualificationStatus",
    "RegistrationStatus",
    "StripeEvent",
    "Supplier",
    "SupplierBankAccount",
    "SupplierCategory",
    "SupplierChangeRequest",
    "SupplierContact",
    "SupplierDocument",
    "SupplierDocumentStatus",
    "SupplierQualification",
    "SupplierRegistration",
    "SupplierTerms",
    "Tenant",
    "TenantStatus",
    "WebSession",
]
