"""UK bank details: validation, normalisation, masking and the blind index across applicants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from confide.privacy.blind_index import IndexKind, blind_index

_SEPARATORS = re.compile(r"[\s-]")
# Names on UK accounts: letters (any script), spaces and the punctuation banks accept.
_ACCOUNT_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.&-]+[^\W\d_]+)*\.?$")


@dataclass(frozen=True)
class BankDetails:
    account_name: str
    sort_code: str  # six digits
    account_number: str  # eight digits


def validate_bank_details(*, account_name: str, sort_code: str, account_number: str) -> BankDetails:
    """Normalised details, or ValidationError naming each bad field."""
    errors: dict[str, list[Any]] = {}
    name = " ".join(account_name.split())
    if not name:
        errors["account_name"] = [_("Enter the name on the account")]
    elif len(name) > 70 or not _ACCOUNT_NAME.match(name):
        errors["account_name"] = [
            _("Name on the account must only include letters, spaces, hyphens and apostrophes")
        ]
    sort = _SEPARATORS.sub("", sort_code)
    if not sort:
        errors["sort_code"] = [_("Enter a sort code")]
    elif not re.fullmatch(r"\d{6}", sort):
        errors["sort_code"] = [_("Enter a valid sort code like 309430")]
    number = _SEPARATORS.sub("", account_number)
    if not number:
        errors["account_number"] = [_("Enter an account number")]
    elif not re.fullmatch(r"\d{6,8}", number):
        errors["account_number"] = [_("Enter a valid account number like 00733445")]
    if errors:
        raise ValidationError(errors)
    # Six- and seven-digit account numbers are written with leading zeros to eight.
    return BankDetails(account_name=name, sort_code=sort, account_number=number.zfill(8))


def bank_account_index(details: BankDetails) -> str | None:
    """The same for the same account whoever typed it (spaces, dashes, leading zeros)."""
    return blind_index(IndexKind.BANK_ACCOUNT, f"{details.sort_code}|{details.account_number}")


def masked_account_number(account_number: str | None) -> str:
    return f"****{account_number[-4:]}" if account_number else ""


def masked_sort_code(sort_code: str | None) -> str:
    return f"**-**-{sort_code[-2:]}" if sort_code else ""
