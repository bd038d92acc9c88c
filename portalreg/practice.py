"""The practice as parents see it: its name, phone number and hours, for pages and emails alike."""

from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import get_language


def practice_phone_tel(phone: str) -> str:
    """Return the number as a tel: link dials it (E.164), or its digits if it does not parse."""
    return _tel(phone, settings.PHONENUMBER_DEFAULT_REGION)


@lru_cache(maxsize=16)  # every staff and parent page shows the practice's number: parsed once
def _tel(phone: str, region: str) -> str:
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return "".join(c for c in phone if c.isdigit() or c == "+")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _hours() -> str:
    return settings.PRACTICE_HOURS_ES if get_language() == "es" else settings.PRACTICE_HOURS


# Read when drawn, not when the context is made: emails are drawn inside their reader's language.
practice_hours = lazy(_hours, str)


def practice_details() -> dict[str, str]:
    """Template context naming the practice and how to reach it."""
    return {
        "practice_name": settings.PRACTICE_NAME,
        "practice_phone": settings.PRACTICE_PHONE,
        "practice_phone_tel": practice_phone_tel(settings.PRACTICE_PHONE),
        "practice_hours": practice_hours(),
    }
