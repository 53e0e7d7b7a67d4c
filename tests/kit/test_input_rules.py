"""The input rules stated once as msgspec constraints: a page form and the API refuse the same
input with the same field messages, and paging stays within what the database can count."""

from __future__ import annotations

import msgspec

from backend.kit.forms import CountryCode, CurrencyCode, FieldErrors, OptionalEmail
from backend.kit.pagination import MAX_PAGE, MAX_PAGE_SIZE, PageRequest
from backend.parties.service import PartyForm


def test_a_party_form_gets_every_field_message_at_once() -> None:
    form = PartyForm(name="", country="XX", currency="eur", email="not-an-address", phone="1" * 41, tax_id="ok")
    assert form.errors() == {
        "name": "This field is required.",
        "country": "Choose a country (two-letter ISO code).",
        "email": "Enter a valid e-mail address.",
        "phone": "At most 40 characters.",
    }


def test_text_the_database_cannot_store_is_refused_with_a_field_message() -> None:
    form = PartyForm(name="Acme\x00", country="de", currency="EUR", email="sales@acme\x00.test")
    errors = form.errors()
    assert set(errors) == {"name", "email"}
    assert "NUL" in errors["name"]


def test_codes_are_accepted_in_either_case_and_nothing_else() -> None:
    assert msgspec.convert("de", CountryCode) == "de"
    assert msgspec.convert("CNY", CurrencyCode) == "CNY"
    for wrong, shape in (("XX", CountryCode), ("DEU", CountryCode), ("ABC", CurrencyCode), ("eu", CurrencyCode)):
        try:
            msgspec.convert(wrong, shape)
        except msgspec.ValidationError:
            continue
        raise AssertionError(f"{wrong!r} accepted")
    assert msgspec.convert("", OptionalEmail) == ""


def test_paging_is_bounded_whatever_the_query_string_says() -> None:
    far = PageRequest.clamp(2**63, 10**9)
    assert (far.page, far.size) == (MAX_PAGE, MAX_PAGE_SIZE)
    assert far.offset < 2**63 - 1


def test_every_form_check_of_a_length_refuses_unstorable_text() -> None:
    errors = FieldErrors()
    errors.max_length("bank_name", "Bank\x00", 140)
    errors.max_length("city", "Berlin", 140)
    assert set(errors) == {"bank_name"}
    assert "NUL" in errors["bank_name"]
