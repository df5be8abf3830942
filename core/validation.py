"""The product's rules for what text and dates may come in, one place for portal and API.

Forms (core.forms.CheckedFormMixin) and serializers (core.api.StrictSerializerMixin)
add these validators to every text and date field they have, so a reflection, a
title or a plan's dates are refused for the same reason with the same message
whichever way they arrive.
"""

import re
from datetime import date, datetime

from django.core.exceptions import ValidationError

# Every date the product reads or stores lies in this range. Far enough either way
# for any real plan, log or questionnaire; near enough that adding weeks, months or
# a calendar feed's horizon can never leave what `datetime.date` can hold.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)

DATE_RANGE_MESSAGE = f"Give a date from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}."

# Text no person types and no form needs: control characters other than tab and
# line breaks (NUL among them), text-direction overrides and isolates (they can make
# a message read differently from what it says), lone surrogates (invalid Unicode,
# which PostgreSQL refuses), the replacement character (what invalid UTF-8 becomes
# once decoded) and the two non-characters. Emoji, their joiners and variation
# selectors, combining marks and the plain left-to-right / right-to-left marks are
# ordinary text and stay.
_REFUSED_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffd\ufffe\uffff]"
)
TEXT_MESSAGE = (
    "This text contains control or direction-changing characters "
    "(or characters that were not valid text). Please type it again without them."
)

# A field with no limit of its own still has this one: nothing anyone writes about
# a practice is longer, and a body of megabytes is refused before it is stored.
DEFAULT_MAX_TEXT_CHARS = 20_000


def text_is_acceptable(value: str) -> bool:
    return _REFUSED_TEXT.search(value) is None


def validate_text(value: object) -> None:
    """Refuse text with characters that are never legitimate in what people write here."""
    if isinstance(value, str) and not text_is_acceptable(value):
        raise ValidationError(TEXT_MESSAGE, code="invalid_characters")


def date_in_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_DATE <= day <= LAST_DATE


def validate_date_in_range(value: object) -> None:
    """Refuse a date (or a moment) outside the product's range."""
    if isinstance(value, date) and not date_in_range(value):
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


def parse_url_date(value: str) -> date | None:
    """A date named in an address, or None when it is not one the product has."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) or not date_in_range(day):
        return None
    return day
