"""The one permission table: who holds the permissions that handlers once checked by hand, so
moving those checks into the table changed nobody's access (except that deciding a supplier
change is finance's alone, as the service always said), and a role's name means something only
with its audience."""

from __future__ import annotations

from uuid import uuid4

import pytest

from backend.authz.principal import Principal
from backend.authz.roles import Permission, StaffRole, SupplierRole, may, permissions_of, roles_with
from backend.models import MembershipKind


@pytest.mark.parametrize(
    ("permission", "roles"),
    [
        # the supplier company page's admin-only steps, and the bank account's admins and accounting
        (Permission.MANAGE_COMPANY_PROFILE, [SupplierRole.ADMIN]),
        (Permission.MANAGE_COLLEAGUES, [SupplierRole.ADMIN]),
        (Permission.CHANGE_BANK_ACCOUNT, [SupplierRole.ACCOUNTING, SupplierRole.ADMIN]),
    ],
)
def test_supplier_permissions_go_to_the_roles_the_page_let_through(
    permission: Permission, roles: list[SupplierRole]
) -> None:
    assert roles_with(MembershipKind.SUPPLIER, permission) == sorted(roles)


def test_only_finance_decides_supplier_changes() -> None:
    assert roles_with(MembershipKind.STAFF, Permission.DECIDE_SUPPLIER_CHANGES) == [StaffRole.FINANCE]


def test_a_role_name_grants_only_within_its_audience() -> None:
    """A supplier's "admin" is no staff administrator, nor a staff "admin" a supplier's."""
    assert permissions_of(MembershipKind.SUPPLIER, ["admin"]).isdisjoint(
        permissions_of(MembershipKind.STAFF, ["admin"])
    )
    assert permissions_of(MembershipKind.CUSTOMER, ["admin"]) == frozenset()
    assert permissions_of(MembershipKind.STAFF, ["no-such-role"]) == frozenset()


def test_may_reads_the_principals_audience() -> None:
    def principal(kind: MembershipKind, *roles: str) -> Principal:
        party = None if kind == MembershipKind.STAFF else uuid4()
        return Principal(uuid4(), uuid4(), uuid4(), kind, party, frozenset(roles), "someone@example.com", "Someone")

    assert may(principal(MembershipKind.STAFF, StaffRole.ADMIN), Permission.MANAGE_USERS)
    assert not may(principal(MembershipKind.SUPPLIER, SupplierRole.ADMIN), Permission.MANAGE_USERS)
    assert may(principal(MembershipKind.SUPPLIER, SupplierRole.ADMIN), Permission.MANAGE_COLLEAGUES)
    assert not may(principal(MembershipKind.STAFF, StaffRole.OWNER), Permission.DECIDE_SUPPLIER_CHANGES)
