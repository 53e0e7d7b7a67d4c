"""Checks of a supplier's sensitive registration fields: tax id, bank account, BIC and account holder.

Each check adds a message in the reader's language to a FieldErrors and returns the value as it is
stored and compared (the normalised form), or None when it is invalid. The country passed in is an
upper-case ISO 3166 code the caller has already checked with FieldErrors.country. Formats and check
digits come from python-stdnum (tax ids) and schwifty (IBAN registry, BIC).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

import msgspec
from schwifty import BIC, IBAN, registry
from schwifty.domain import IBANSpec
from schwifty.exceptions import InvalidChecksumDigits, InvalidCountryCode, SchwiftyException
from stdnum.exceptions import ValidationError
from stdnum.md import idno
from stdnum.ua import edrpou
from stdnum.us import ein
from stdnum.util import get_cc_module, get_module_name

from backend.kit.forms import COUNTRIES, FieldErrors, InvalidForm
from backend.kit.i18n import country_name
from backend.kit.i18n import gettext as _

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule  # a Protocol that exists only for type checkers

# What a VAT number looks like, shown in the message when one is refused.
VAT_EXAMPLES = {
    "AT": "ATU12345678",
    "BE": "BE0123456789",
    "BG": "BG123456789",
    "CH": "CHE-123.456.789 MWST",
    "CY": "CY12345678X",
    "CZ": "CZ12345678",
    "DE": "DE123456789",
    "DK": "DK12345678",
    "EE": "EE123456789",
    "ES": "ESX1234567X",
    "FI": "FI12345678",
    "FR": "FR12345678901",
    "GB": "GB123456789",
    "GR": "EL123456789",
    "HR": "HR12345678901",
    "HU": "HU12345678",
    "IE": "IE1234567X",
    "IT": "IT12345678901",
    "LT": "LT123456789",
    "LU": "LU12345678",
    "LV": "LV12345678901",
    "MT": "MT12345678",
    "NL": "NL123456789B01",
    "NO": "NO123456789MVA",
    "PL": "PL1234567890",
    "PT": "PT123456789",
    "RO": "RO1234567890",
    "SE": "SE123456789001",
    "SI": "SI12345678",
    "SK": "SK1234567890",
}

# Countries without a VAT number in python-stdnum whose companies are identified for tax by another
# number it knows. South Africa's TIN is left out: suppliers there give their VAT number (starting
# with 4), which stdnum's TIN check refuses.
BUSINESS_TAX_IDS: dict[str, NumberValidationModule] = {"MD": idno, "UA": edrpou, "US": ein}

# Countries python-stdnum does not know: anything a tax authority could plausibly issue.
OTHER_TAX_ID = re.compile(r"[A-Za-z0-9 ./-]{3,40}")
PLAIN_ACCOUNT = re.compile(r"[0-9]{4,34}")

# Embedding, override and isolate controls reorder what a reviewer sees, so the name a finance
# approver reads could differ from the one the payment goes to.
BIDI_CONTROLS = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
HOLDER_LIMIT = 140
BANK_NAME_LIMIT = 140


def tax_id_module(country: str) -> NumberValidationModule | None:
    """The python-stdnum module that checks a company's tax id in `country`, if there is one."""
    if country not in COUNTRIES:
        return None  # get_cc_module imports stdnum.<code>: never let an arbitrary string name a module
    return BUSINESS_TAX_IDS.get(country) or get_cc_module(country, "vat")


def tax_id(errors: FieldErrors, field: str, value: str, country: str) -> str | None:
    """A company's tax id in `country`: format and check digit where python-stdnum knows the number
    (an EU VAT number with or without its country prefix), compacted; elsewhere a plausible id."""
    if not errors.require(field, value):
        return None
    module = tax_id_module(country)
    if module is None:
        if OTHER_TAX_ID.fullmatch(value.strip()):
            return value.strip().upper()
        errors[field] = _("Enter 3 to 40 letters, digits, spaces, hyphens, dots or slashes.")
        return None
    try:
        module.validate(value)
    except ValidationError:
        errors[field] = _invalid_tax_id(country, module)
        return None
    return module.compact(value)


def _invalid_tax_id(country: str, module: NumberValidationModule) -> str:
    if country == "CN":
        return _("Not a valid unified social credit code (18 letters and digits, e.g. 91110000123456789Q).")
    if country == "US":
        return _("Not a valid EIN (12-3456789).")
    if country == "JP":
        return _("Not a valid corporate number (13 digits, e.g. 1234567890123).")
    if example := VAT_EXAMPLES.get(country):
        return _("Not a valid VAT number for %(country)s (%(example)s).") % {
            "country": country_name(country),
            "example": example,
        }
    # stdnum's own name of the number, e.g. "ABN (Australian Business Number)": mostly the local
    # term, which the supplier knows better than any translation of it.
    return _("Not a valid tax number for %(country)s: expected %(number)s.") % {
        "country": country_name(country),
        "number": get_module_name(module),
    }


def iban_spec(country: str) -> IBANSpec | None:
    """The IBAN format of accounts in `country`, or None where banks do not use IBANs."""
    try:
        spec = registry.get_iban_spec(country)
    except InvalidCountryCode:
        return None
    # Aspirational formats are reserved but not in the official registry: banks there still give
    # domestic account numbers, and an IBAN may be refused by the payer's bank.
    return None if spec.aspirational else spec


def iban(errors: FieldErrors, field: str, value: str, country: str) -> str | None:
    """The account at a bank in `country`: an IBAN for that country where IBANs are used (compact,
    upper case), else a plain account number of 4 to 34 digits (spaces and hyphens dropped)."""
    if not errors.require(field, value):
        return None
    spec = iban_spec(country)
    if spec is None:
        number = re.sub(r"[ -]", "", value)
        if PLAIN_ACCOUNT.fullmatch(number):
            return number
        errors[field] = _("Enter the account number: 4 to 34 digits (spaces and hyphens are allowed).")
        return None
    # Territories such as Guernsey or Réunion use their parent country's IBANs (GB…, FR…).
    prefix = spec.iban_spec[:2]
    try:
        account = IBAN(value)
    except InvalidChecksumDigits:
        errors[field] = _("The IBAN's check digits do not match: please look for a typing error.")
        return None
    except SchwiftyException:
        errors[field] = _("Not a valid IBAN for %(country)s: %(length)d characters starting with %(prefix)s.") % {
            "country": country_name(country),
            "length": spec.iban_length,
            "prefix": prefix,
        }
        return None
    if account.country_code != prefix:
        errors[field] = _("An IBAN for an account in %(country)s starts with %(prefix)s.") % {
            "country": country_name(country),
            "prefix": prefix,
        }
        return None
    return account.compact


def bic(errors: FieldErrors, field: str, value: str, country: str) -> str | None:
    """The BIC (SWIFT code) of a bank in `country`, upper case. Optional where the account is an
    IBAN; required elsewhere, since international payments to, e.g., China or the US need it."""
    if not value:
        if iban_spec(country) is None:
            errors[field] = _("Enter the bank's BIC (SWIFT code): payments to an account without an IBAN need it.")
        return None
    try:
        code = BIC(value)
    except SchwiftyException:
        errors[field] = _("Not a valid BIC (SWIFT code): 8 or 11 letters and digits, e.g. DEUTDEFF or DEUTDEFF500.")
        return None
    spec = iban_spec(country)
    # A bank in a territory that uses its parent's IBANs may also carry the parent's BIC country.
    countries = {country, spec.iban_spec[:2]} if spec else {country}
    if code.country_code not in countries:
        errors[field] = _("This BIC belongs to a bank in %(bic_country)s, not in %(country)s.") % {
            "bic_country": country_name(code.country_code),
            "country": country_name(country),
        }
        return None
    return code.compact


def account_holder(errors: FieldErrors, field: str, value: str) -> str | None:
    """The name the account is held in: required, at most 140 characters, no control characters."""
    if not errors.require(field, value):
        return None
    if any(unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in BIDI_CONTROLS for c in value):
        errors[field] = _("Remove line breaks, tabs and other control characters.")
        return None
    errors.max_length(field, value, HOLDER_LIMIT)
    return None if field in errors else value.strip()


class BankAccountForm(msgspec.Struct):
    """A supplier's bank account as entered; `country` is the bank's country."""

    holder: str = ""
    iban_or_account: str = ""
    bic: str = ""
    bank_name: str = ""
    country: str = ""

    def errors(self) -> FieldErrors:
        return self._checked()[0]

    def normalised(self) -> BankAccountForm:
        """The account as it is stored and compared (compact IBAN, upper-case BIC and country);
        raises InvalidForm when it is not valid."""
        errors, normalised = self._checked()
        if errors:
            raise InvalidForm(errors)
        return normalised

    def _checked(self) -> tuple[FieldErrors, BankAccountForm]:
        errors = FieldErrors()
        country = self.country.upper()
        errors.country("country", country)
        holder = account_holder(errors, "holder", self.holder)
        account: str | None = None
        code: str | None = None
        if "country" in errors:
            # The account's format and whether a BIC is needed depend on the bank's country.
            errors.require("iban_or_account", self.iban_or_account)
        else:
            account = iban(errors, "iban_or_account", self.iban_or_account, country)
            code = bic(errors, "bic", self.bic, country)
        errors.max_length("bank_name", self.bank_name, BANK_NAME_LIMIT)
        normalised = BankAccountForm(
            holder=holder or "",
            iban_or_account=account or "",
            bic=code or "",
            bank_name=self.bank_name.strip(),
            country=country,
        )
        return errors, normalised
