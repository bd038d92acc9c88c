"""Phone numbers as an export writes them, checked and turned into E.164: each parsed once.

PhoneNumberField parses a number when it is assigned and again when it is saved; the import parses each
number here, once, and stores the E.164 string (`patients.models.PhoneField` saves it as it is).
"""

import re
from functools import lru_cache

from django.conf import settings
from phonenumbers import (
    NumberParseException,
    PhoneNumber,
    PhoneNumberFormat,
    country_code_for_region,
    format_number,
    is_valid_number,
    is_valid_number_for_region,
)
from phonenumbers import parse as phone_parse

from patients.importing.records import Rejected

# A North American number as people write it: (202) 555-0143, 202-555-0143, 202.555.0143, 2025550143.
NANP = re.compile(r"\(?([2-9]\d\d)\)?[ .-]?([2-9]\d\d)[ .-]?(\d{4})")


def phone(value) -> str:
    """Return the number in E.164, read in the practice's region unless it starts with +."""
    value = value.strip() if isinstance(value, str) else ""
    if not value:
        return ""
    e164 = _e164(value, settings.PHONENUMBER_DEFAULT_REGION)
    if e164 is None:
        raise Rejected(f"malformed phone number {value!r}")
    return e164


@lru_cache(maxsize=65_536)  # a parent of siblings is on each child's record: the same numbers again
def _e164(value: str, region: str) -> str | None:
    number = parsed(value, region)
    # Checking the practice's own region first is a third of the work of finding the number's region.
    if number is None or not (is_valid_number_for_region(number, region) or is_valid_number(number)):
        return None
    return format_number(number, PhoneNumberFormat.E164)


def parsed(value: str, region: str) -> PhoneNumber | None:
    """The one parse of a number: None if it is not one.

    A North American number as people write it is what `phonenumbers.parse` makes of it, read at a third
    of its cost (tests/patients/test_import_phones.py compares the two): an export is mostly such numbers,
    and parsing them was the largest part of reading one. Every number is validated all the same.
    """
    nanp = NANP.fullmatch(value) if country_code_for_region(region) == 1 else None
    if nanp:
        return PhoneNumber(country_code=1, national_number=int("".join(nanp.groups())))
    try:
        return phone_parse(value, region)
    except NumberParseException:
        return None
