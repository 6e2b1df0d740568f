"""Someone telling us who they are, in their own words: a name and a date of birth.

Parsing only, no database. `identity_claim` finds a date of birth written the ways patients write it
(3/14/1988, 03-14-88, 1988-03-14, March 14, 1988, 14 March 1988, 14 de marzo de 1988) in a message that
introduces its writer ("this is", "my name is", "DOB", "born", "me llamo"...). Numeric dates are read
month first, as in the US, and day first only when month first is not a date. `names_match` is strict:
the record's first name then its last name, as whole words, with case and accents aside.
"""

import re
from dataclasses import dataclass
from datetime import date

from escalations.rules import normalize

MONTHS = {
    "january": 1,
    "jan": 1,
    "enero": 1,
    "february": 2,
    "feb": 2,
    "febrero": 2,
    "march": 3,
    "mar": 3,
    "marzo": 3,
    "april": 4,
    "apr": 4,
    "abril": 4,
    "may": 5,
    "mayo": 5,
    "june": 6,
    "jun": 6,
    "junio": 6,
    "july": 7,
    "jul": 7,
    "julio": 7,
    "august": 8,
    "aug": 8,
    "agosto": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "septiembre": 9,
    "setiembre": 9,
    "october": 10,
    "oct": 10,
    "octubre": 10,
    "november": 11,
    "nov": 11,
    "noviembre": 11,
    "december": 12,
    "dec": 12,
    "diciembre": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_CUE = re.compile(
    r"\b(d\.?o\.?b|date\s+of\s+birth|birth\s*date|birthday|bday|born|this\s+is|my\s+name|name\s+is|i\s+am|i'?m|"
    r"it'?s|me\s+llamo|mi\s+nombre|soy|fecha\s+de\s+nacimiento|naci)\b"
)
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")
_MONTH_FIRST = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")
_DAY_FIRST = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+)?({_MONTH})\.?,?\s+(?:de\s+|del\s+)?(\d{{4}})\b")
# A date of birth is at least this many years back: "it's for 12/14/2026" is a visit, not a birthday.
MIN_AGE_YEARS = 12


@dataclass(frozen=True)
class IdentityClaim:
    born_on: date
    words: str  # the message, normalised, for matching names


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year(text: str, today: date) -> int:
    year = int(text)
    if len(text) == 2:  # "88" is 1988; "05" is 2005 when that makes an old enough patient
        year += 2000 if 2000 + year <= today.year - MIN_AGE_YEARS else 1900
    return year


def _candidates(clean: str, today: date):
    for match in _ISO.finditer(clean):
        yield _date(int(match[1]), int(match[2]), int(match[3]))
    for match in _NUMERIC.finditer(clean):
        year = _year(match[3], today)
        yield _date(year, int(match[1]), int(match[2])) or _date(year, int(match[2]), int(match[1]))
    for match in _MONTH_FIRST.finditer(clean):
        yield _date(int(match[3]), MONTHS[match[1]], int(match[2]))
    for match in _DAY_FIRST.finditer(clean):
        yield _date(int(match[3]), MONTHS[match[2]], int(match[1]))


def identity_claim(text: str, *, today: date) -> IdentityClaim | None:
    """A date of birth in a message that introduces its writer, or None."""
    clean = normalize(text)
    if not _CUE.search(clean):
        return None
    for born_on in _candidates(clean, today):
        if born_on and born_on.year >= 1900 and (today - born_on).days >= MIN_AGE_YEARS * 365:
            return IdentityClaim(born_on=born_on, words=clean)
    return None


def names_match(claim: IdentityClaim, *, first_name: str, last_name: str) -> bool:
    """The record's first and last name, in that order, as whole words of the message."""
    first, last = normalize(first_name), normalize(last_name)
    if not first or not last:
        return False
    pattern = rf"(?<![\w'-]){re.escape(first)}\s+{re.escape(last)}(?![\w'-])"
    return re.search(pattern, claim.words) is not None
