"""Checks of a supplier's tax id, bank account, BIC and account holder (backend/suppliers/validation.py).

No database. Messages are asserted in English, the default locale; the Chinese catalog gets the new
strings when the catalogs are next updated.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stdnum.cn import uscc

from backend.kit.forms import FieldErrors, InvalidForm
from backend.kit.i18n import in_locale
from backend.suppliers.validation import BankAccountForm, account_holder, bic, iban, tax_id

REQUIRED = "This field is required."
PLAIN_ACCOUNT = "Enter the account number: 4 to 34 digits (spaces and hyphens are allowed)."
CHECK_DIGITS = "The IBAN's check digits do not match: please look for a typing error."
BIC_FORMAT = "Not a valid BIC (SWIFT code): 8 or 11 letters and digits, e.g. DEUTDEFF or DEUTDEFF500."
BIC_REQUIRED = "Enter the bank's BIC (SWIFT code): payments to an account without an IBAN need it."
CONTROL = "Remove line breaks, tabs and other control characters."
OTHER_TAX_ID = "Enter 3 to 40 letters, digits, spaces, hyphens, dots or slashes."


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with in_locale("en"):
        yield


def vat(country: str, example: str) -> str:
    return f"Not a valid VAT number for {country} ({example})."


def test_the_demo_uscc_has_a_wrong_check_digit() -> None:
    assert uscc.calc_check_digit("91440300MA5G2Q7X1") == "F"
    assert not uscc.is_valid("91440300MA5G2Q7X1K")


@pytest.mark.parametrize(
    ("country", "value", "expected"),
    [
        pytest.param("CN", "91440300MA5G2Q7X1F", "91440300MA5G2Q7X1F", id="cn-uscc"),
        pytest.param("CN", "9144 0300 ma5g-2q7x 1f", "91440300MA5G2Q7X1F", id="cn-uscc-spaced-lowercase"),
        pytest.param("DE", "DE136695976", "136695976", id="de-prefixed"),
        pytest.param("DE", "136695976", "136695976", id="de-bare"),
        pytest.param("DE", "DE 136 695 976", "136695976", id="de-spaced"),
        pytest.param("FR", "FR23334175221", "23334175221", id="fr-prefixed"),
        pytest.param("FR", "23334175221", "23334175221", id="fr-bare"),
        pytest.param("GB", "GB 980 7806 84", "980780684", id="gb-prefixed"),
        pytest.param("GB", "980780684", "980780684", id="gb-bare"),
        pytest.param("NL", "NL004495445B01", "004495445B01", id="nl-prefixed"),
        pytest.param("NL", "004495445B01", "004495445B01", id="nl-bare"),
        pytest.param("IT", "IT00743110157", "00743110157", id="it-prefixed"),
        pytest.param("IT", "00743110157", "00743110157", id="it-bare"),
        pytest.param("ES", "ESB64717838", "B64717838", id="es-prefixed"),
        pytest.param("ES", "B64717838", "B64717838", id="es-bare"),
        pytest.param("US", "91-1144442", "911144442", id="us-ein"),
        pytest.param("JP", "5-8356-7825-6246", "5835678256246", id="jp-corporate-number"),
        pytest.param("HK", "12345678-000", "12345678-000", id="no-module-digits"),
        pytest.param("HK", "ab 12/3.4", "AB 12/3.4", id="no-module-letters-upper-cased"),
    ],
)
def test_a_valid_tax_id_is_normalised(country: str, value: str, expected: str) -> None:
    errors = FieldErrors()

    assert tax_id(errors, "tax_id", value, country) == expected
    assert errors == {}


@pytest.mark.parametrize(
    ("country", "value", "message"),
    [
        pytest.param(
            "CN",
            "91440300MA5G2Q7X1K",
            "Not a valid unified social credit code (18 letters and digits, e.g. 91110000123456789Q).",
            id="cn-demo-example-wrong-check-digit",
        ),
        pytest.param(
            "CN",
            "9144030",
            "Not a valid unified social credit code (18 letters and digits, e.g. 91110000123456789Q).",
            id="cn-too-short",
        ),
        pytest.param(
            "CN",
            "91440300MA5G2Q7XIF",
            "Not a valid unified social credit code (18 letters and digits, e.g. 91110000123456789Q).",
            id="cn-letter-outside-alphabet",
        ),
        pytest.param("DE", "DE136695978", vat("Germany", "DE123456789"), id="de-wrong-check-digit"),
        pytest.param("DE", "FR23334175221", vat("Germany", "DE123456789"), id="de-french-number"),
        pytest.param("FR", "FR23334175222", vat("France", "FR12345678901"), id="fr-wrong-check-digit"),
        pytest.param("GB", "802311781", vat("United Kingdom", "GB123456789"), id="gb-wrong-check-digit"),
        pytest.param("NL", "NL123456789B90", vat("Netherlands", "NL123456789B01"), id="nl-wrong-check-digit"),
        pytest.param("IT", "IT00743110158", vat("Italy", "IT12345678901"), id="it-wrong-check-digit"),
        pytest.param("ES", "B64717839", vat("Spain", "ESX1234567X"), id="es-wrong-check-digit"),
        pytest.param("US", "07-1144442", "Not a valid EIN (12-3456789).", id="us-unknown-prefix"),
        pytest.param("US", "911-14-4442", "Not a valid EIN (12-3456789).", id="us-dash-misplaced"),
        pytest.param(
            "JP", "2-8356-7825-6246", "Not a valid corporate number (13 digits, e.g. 1234567890123).", id="jp-wrong"
        ),
        pytest.param(
            "AU",
            "12345678",
            "Not a valid tax number for Australia: expected ABN (Australian Business Number).",
            id="module-without-example",
        ),
        pytest.param("HK", "ab", OTHER_TAX_ID, id="no-module-too-short"),
        pytest.param("HK", "1" * 41, OTHER_TAX_ID, id="no-module-too-long"),
        pytest.param("HK", "123<456>", OTHER_TAX_ID, id="no-module-markup"),
        pytest.param("DE", "", REQUIRED, id="required"),
    ],
)
def test_an_invalid_tax_id_says_what_is_expected(country: str, value: str, message: str) -> None:
    errors = FieldErrors()

    assert tax_id(errors, "tax_id", value, country) is None
    assert errors == {"tax_id": message}


@pytest.mark.parametrize(
    ("country", "value", "expected"),
    [
        pytest.param("DE", "DE89370400440532013000", "DE89370400440532013000", id="de"),
        pytest.param("GB", "GB29NWBK60161331926819", "GB29NWBK60161331926819", id="gb"),
        pytest.param("FR", "FR1420041010050500013M02606", "FR1420041010050500013M02606", id="fr"),
        pytest.param("NL", "NL91ABNA0417164300", "NL91ABNA0417164300", id="nl"),
        pytest.param("CH", "CH9300762011623852957", "CH9300762011623852957", id="ch"),
        pytest.param("DE", "de89 3704 0044 0532 0130 00", "DE89370400440532013000", id="lowercase-spaced"),
        pytest.param("RE", "FR1420041010050500013M02606", "FR1420041010050500013M02606", id="territory-parent-iban"),
        pytest.param("CN", "6222 0212 3456 7890 123", "6222021234567890123", id="cn-plain"),
        pytest.param("US", "000123456789", "000123456789", id="us-plain"),
        pytest.param("US", "123-456-789", "123456789", id="us-plain-hyphens"),
        pytest.param("DZ", "00400123456789012345", "00400123456789012345", id="aspirational-iban-country-plain"),
    ],
)
def test_a_valid_account_is_compacted(country: str, value: str, expected: str) -> None:
    errors = FieldErrors()

    assert iban(errors, "account", value, country) == expected
    assert errors == {}


@pytest.mark.parametrize(
    ("country", "value", "message"),
    [
        pytest.param("DE", "DE88370400440532013000", CHECK_DIGITS, id="de-wrong-checksum"),
        pytest.param("NL", "NL92ABNA0417164300", CHECK_DIGITS, id="nl-wrong-checksum"),
        pytest.param("CH", "CH9300762011623852958", CHECK_DIGITS, id="ch-wrong-checksum"),
        pytest.param(
            "DE",
            "DE8937040044053201300",
            "Not a valid IBAN for Germany: 22 characters starting with DE.",
            id="de-wrong-length",
        ),
        pytest.param(
            "GB",
            "GB29NWBK6016133192681X",
            "Not a valid IBAN for United Kingdom: 22 characters starting with GB.",
            id="gb-letter-in-account",
        ),
        pytest.param(
            "FR",
            "FR14 2004",
            "Not a valid IBAN for France: 27 characters starting with FR.",
            id="fr-truncated",
        ),
        pytest.param(
            "DE",
            "GB29NWBK60161331926819",
            "An IBAN for an account in Germany starts with DE.",
            id="iban-country-differs-from-bank-country",
        ),
        pytest.param("DE", "", REQUIRED, id="required"),
        pytest.param("CN", "DE89370400440532013000", PLAIN_ACCOUNT, id="cn-iban-given"),
        pytest.param("US", "123", PLAIN_ACCOUNT, id="us-too-short"),
        pytest.param("US", "ABC12345", PLAIN_ACCOUNT, id="us-letters"),
        pytest.param("CN", "1" * 35, PLAIN_ACCOUNT, id="cn-too-long"),
        pytest.param("CN", "--  --", PLAIN_ACCOUNT, id="cn-only-separators"),
    ],
)
def test_an_invalid_account_says_what_is_expected(country: str, value: str, message: str) -> None:
    errors = FieldErrors()

    assert iban(errors, "account", value, country) is None
    assert errors == {"account": message}


@pytest.mark.parametrize(
    ("country", "value", "expected"),
    [
        pytest.param("DE", "DEUTDEFF", "DEUTDEFF", id="eight-characters"),
        pytest.param("DE", "deutdeff500", "DEUTDEFF500", id="eleven-lowercase"),
        pytest.param("DE", "DEUT DE FF", "DEUTDEFF", id="spaced"),
        pytest.param("CN", "BKCHCNBJ", "BKCHCNBJ", id="cn"),
        pytest.param("US", "CHASUS33", "CHASUS33", id="us"),
        pytest.param("RE", "BNPAFRPP", "BNPAFRPP", id="territory-parent-country"),
        pytest.param("DE", "", None, id="optional-with-iban"),
    ],
)
def test_a_valid_bic_is_normalised(country: str, value: str, expected: str | None) -> None:
    errors = FieldErrors()

    assert bic(errors, "bic", value, country) == expected
    assert errors == {}


@pytest.mark.parametrize(
    ("country", "value", "message"),
    [
        pytest.param("DE", "DEUTDEF", BIC_FORMAT, id="seven-characters"),
        pytest.param("DE", "DEUTDEFF5", BIC_FORMAT, id="nine-characters"),
        pytest.param("DE", "DEUT12FF", BIC_FORMAT, id="digits-for-country"),
        pytest.param("DE", "DEUTXXFF", BIC_FORMAT, id="unknown-country"),
        pytest.param("DE", "DEUT-DEFF", BIC_FORMAT, id="punctuation"),
        pytest.param(
            "FR", "DEUTDEFF", "This BIC belongs to a bank in Germany, not in France.", id="country-differs-from-bank"
        ),
        pytest.param("CN", "", BIC_REQUIRED, id="required-in-cn"),
        pytest.param("US", "", BIC_REQUIRED, id="required-in-us"),
    ],
)
def test_an_invalid_or_missing_bic_says_what_is_expected(country: str, value: str, message: str) -> None:
    errors = FieldErrors()

    assert bic(errors, "bic", value, country) is None
    assert errors == {"bic": message}


@pytest.mark.parametrize(
    ("value", "expected", "message"),
    [
        pytest.param("Acme GmbH", "Acme GmbH", None, id="latin"),
        pytest.param("深圳市示例科技有限公司", "深圳市示例科技有限公司", None, id="chinese"),
        pytest.param("  Acme GmbH ", "Acme GmbH", None, id="stripped"),
        pytest.param("x" * 140, "x" * 140, None, id="at-limit"),
        pytest.param("x" * 141, None, "At most 140 characters.", id="over-limit"),
        pytest.param("", None, REQUIRED, id="required"),
        pytest.param("Acme\nGmbH", None, CONTROL, id="line-break"),
        pytest.param("Acme\tGmbH", None, CONTROL, id="tab"),
        pytest.param("Acme\x00GmbH", None, CONTROL, id="nul"),
        pytest.param("Acme \u202eHbmG", None, CONTROL, id="right-to-left-override"),
    ],
)
def test_account_holder(value: str, expected: str | None, message: str | None) -> None:
    errors = FieldErrors()

    assert account_holder(errors, "holder", value) == expected
    assert errors == ({"holder": message} if message else {})


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        pytest.param(
            BankAccountForm(holder="Acme GmbH", iban_or_account="DE89370400440532013000", country="de"), {}, id="iban"
        ),
        pytest.param(
            BankAccountForm(holder="示例有限公司", iban_or_account="6222021234567890123", bic="BKCHCNBJ", country="CN"),
            {},
            id="cn-account-with-bic",
        ),
        pytest.param(
            BankAccountForm(holder="示例有限公司", iban_or_account="6222021234567890123", country="CN"),
            {"bic": BIC_REQUIRED},
            id="cn-account-without-bic",
        ),
        pytest.param(
            BankAccountForm(holder="Acme", iban_or_account="DE89370400440532013000", country="D"),
            {"country": "Choose a country (two-letter ISO code)."},
            id="bad-country-skips-the-country-rules",
        ),
        pytest.param(
            BankAccountForm(country="D"),
            {"country": "Choose a country (two-letter ISO code).", "holder": REQUIRED, "iban_or_account": REQUIRED},
            id="bad-country-still-requires-an-account",
        ),
        pytest.param(
            BankAccountForm(holder="Acme", iban_or_account="DE89370400440532013000", bank_name="B" * 141, country="DE"),
            {"bank_name": "At most 140 characters."},
            id="bank-name-too-long",
        ),
    ],
)
def test_bank_account_form_errors(form: BankAccountForm, errors: dict[str, str]) -> None:
    assert form.errors() == errors


def test_a_valid_bank_account_form_normalises_every_field() -> None:
    form = BankAccountForm(
        holder="Acme GmbH", iban_or_account="de89 3704 0044 0532 0130 00", bic="cobadeff", bank_name="  ", country="de"
    )

    assert form.normalised() == BankAccountForm(
        holder="Acme GmbH", iban_or_account="DE89370400440532013000", bic="COBADEFF", bank_name="", country="DE"
    )


def test_an_invalid_bank_account_form_refuses_to_normalise() -> None:
    form = BankAccountForm(holder="Acme GmbH", iban_or_account="DE88370400440532013000", country="DE")

    with pytest.raises(InvalidForm) as refused:
        form.normalised()

    assert refused.value.errors == {"iban_or_account": CHECK_DIGITS}


def test_a_chinese_reader_sees_the_country_named_in_chinese() -> None:
    errors = FieldErrors()

    with in_locale("zh_Hans"):
        tax_id(errors, "tax_id", "DE136695978", "DE")

    # The sentence is Chinese once the catalog translates it; the country name comes from CLDR already.
    assert "德国" in errors["tax_id"]
    assert "DE123456789" in errors["tax_id"]
