"""Labels live on the enums: every member of every LabelledEnum has one, in English and in
Simplified Chinese, and a stored value no member has shows as it is stored."""

from __future__ import annotations

import pytest

from backend.authz.roles import StaffRole, SupplierRole
from backend.billing.gateway import InvoiceStatus
from backend.kit import i18n
from backend.kit.labels import LabelledEnum
from backend.models import MailStatus
from backend.models.party import PartyStatus, RiskTier
from tenants.billing.access import SubscriptionStatus
from tenants.billing.plans import Limit


def _labelled() -> list[type[LabelledEnum]]:
    found, pending = [], list(LabelledEnum.__subclasses__())
    while pending:
        each = pending.pop()
        found.append(each)
        pending.extend(each.__subclasses__())
    return found


def test_the_enums_are_found() -> None:
    # one from each module that declares some (importing them is what lets the check see them all)
    assert {
        PartyStatus,
        RiskTier,
        MailStatus,
        SubscriptionStatus,
        Limit,
        InvoiceStatus,
        StaffRole,
        SupplierRole,
    } <= set(_labelled())


@pytest.mark.parametrize("enum", _labelled(), ids=lambda each: each.__name__)
def test_every_member_has_a_label_in_every_language(enum: type[LabelledEnum]) -> None:
    english = {member: member.label for member in enum}
    assert all(english.values())
    with i18n.in_locale("zh_Hans"):
        chinese = {member: member.label for member in enum}
    untranslated = [member for member in enum if chinese[member] == english[member]]
    assert not untranslated, f"no Chinese for {untranslated}"


def test_a_value_no_member_has_shows_as_stored() -> None:
    assert RiskTier.label_of("high") == "High"
    assert RiskTier.label_of("extreme") == "extreme"
    assert RiskTier.label_of(None) == ""
