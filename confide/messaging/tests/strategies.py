"""Hypothesis strategies for valid personal details and valid message templates.

Every value is one the people app accepts (names, drama-range phones, reserved-domain emails,
real-format postcodes, check-digit-valid NHS numbers from the synthetic 9xx range), so the
properties run through the real services rather than around them.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

import phonenumbers
from hypothesis import strategies as st
from nhs_number import calculate_checksum

from confide.people.details import PersonDetails
from confide.people.validation import OFCOM_DRAMA_PREFIXES, normalise_postcode

# Letters people's names are written in here, English and Welsh (Siân, Llŷr, Zoë, Ó).
NAME_LETTERS = string.ascii_letters + "áâäéêëíîïóôöúûüŵŷÿçñÁÂÉÊÍÎÓÔÚÛŴŶ"


def _word(min_size: int = 3, max_size: int = 14) -> st.SearchStrategy[str]:
    return st.text(alphabet=NAME_LETTERS, min_size=min_size, max_size=max_size).map(
        lambda w: w[0].upper() + w[1:]
    )


names = st.lists(_word(), min_size=1, max_size=2).map(" ".join)
family_names = st.one_of(
    names, st.tuples(_word(), _word()).map(lambda parts: f"{parts[0]}-{parts[1]}")
)


@st.composite
def nhs_numbers(draw: st.DrawFn) -> str:
    body = draw(
        st.integers(900_000_000, 999_999_999).filter(lambda b: calculate_checksum(str(b)) != 10)
    )
    return f"{body}{calculate_checksum(str(body))}"


phones = st.builds(
    lambda prefix, n: f"{prefix}{n:03d}", st.sampled_from(OFCOM_DRAMA_PREFIXES), st.integers(0, 999)
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.from_regex(r"[a-z][a-z0-9]{2,11}(\.[a-z0-9]{2,10})?", fullmatch=True),
    st.sampled_from(["example.org", "example.com", "example.net", "mail.example.org"]),
)
postcodes = st.from_regex(
    r"[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}) [0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True
).map(normalise_postcode)
streets = st.builds(
    lambda number, word, kind: f"{number} {word} {kind}",
    st.integers(1, 999),
    _word(min_size=5),
    st.sampled_from(["Road", "Street", "Lane", "Close", "Heol", "Ffordd"]),
)
dates_of_birth = st.dates(min_value=date(1930, 1, 1), max_value=date(2002, 12, 31))


@st.composite
def person_details(draw: st.DrawFn, *, email: bool = True, phone: bool = True) -> PersonDetails:
    return PersonDetails(
        given_name=draw(names),
        family_name=draw(family_names),
        date_of_birth=draw(dates_of_birth),
        nhs_number=draw(nhs_numbers()),
        phone=draw(phones) if phone else "",
        email=draw(emails) if email else "",
        address=draw(streets),
        postcode=draw(postcodes),
    )


def phone_forms(e164: str) -> list[str]:
    """Every way a UK number might be written: +447700900123, 07700 900123, 07700900123."""
    parsed = phonenumbers.parse(e164, "GB")
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return [
        e164,
        e164.lstrip("+"),
        national,
        national.replace(" ", ""),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    ]


def identifying_values(details: PersonDetails) -> list[str]:
    """What must never reach someone else's message, in every form it may be written."""
    values = [
        details.given_name,
        details.family_name,
        details.email,
        details.address,
        details.postcode,
        details.postcode.replace(" ", ""),
        details.nhs_number,
        f"{details.nhs_number[:3]} {details.nhs_number[3:6]} {details.nhs_number[6:]}",
        # The distinctive part of the street on its own ("Marlowe" of "12 Marlowe Road").
        details.address.split(" ")[1],
    ]
    values += details.family_name.split("-") + details.given_name.split(" ")
    if details.phone:
        values += phone_forms(details.phone)
    return [v for v in values if v]


# --- templates -------------------------------------------------------------------------------

# Literal template text: anything printable except the placeholder brackets.
_text_characters = st.characters(
    blacklist_categories=("Cs", "Cc", "Co", "Cn", "Zl", "Zp"), blacklist_characters="()"
)
one_line_text = st.text(alphabet=_text_characters, max_size=40)
multi_line_text = st.text(alphabet=st.one_of(_text_characters, st.just("\n")), max_size=60)


@dataclass(frozen=True)
class TemplateText:
    subject: str
    body: str

    @property
    def literal(self) -> str:
        """The text the template itself contributes (placeholders removed)."""
        from confide.messaging.templating import PLACEHOLDER

        return PLACEHOLDER.sub(" ", f"{self.subject}\n{self.body}")


@st.composite
def template_texts(draw: st.DrawFn, *, fields: frozenset[str]) -> TemplateText:
    """A valid template for a kind: random text with any subset of its fields, in any order."""
    ordered = sorted(fields)

    def filled(text: st.SearchStrategy[str], *, require_text: bool) -> str:
        used = draw(st.lists(st.sampled_from(ordered), max_size=6))
        parts = [draw(text)]
        for name in used:
            spacing = draw(st.sampled_from(["", " "]))
            # Spaces around each placeholder: a value run into its neighbour ("((first_name))
            # ((first_name))" -> "JoJo") could spell a case's name without anything leaking.
            parts += [f" (({spacing}{name}{spacing})) ", draw(text)]
        result = "".join(parts)
        if require_text and not result.strip():
            result += "Message"
        return result

    subject = filled(one_line_text, require_text=True)
    body = filled(multi_line_text, require_text=True)
    return TemplateText(subject=subject, body=body)
