"""Where a welcome message goes: the one rule for its channel and address.

Used by the staff form (what to prefill, what to accept), the service that queues the message (what it
stores and saves back to the contact) and the selectors that find whom a message can reach (Register
all). A module of its own, beside `pin_codes`, because selectors read it and services import selectors.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from phonenumber_field.phonenumber import to_python as phone_parse

from patients.models import FamilyContact
from registration.models import WelcomeMessage

EMAIL, SMS = WelcomeMessage.Channel.EMAIL, WelcomeMessage.Channel.SMS
# The contact's field that holds the address of each channel: a corrected address is saved back there.
CONTACT_FIELD = {EMAIL: "email", SMS: "cell_phone"}
_ON_THE_CHART = {EMAIL: "email", SMS: "cell phone"}


class AddressInvalid(ValueError):
    """The address cannot take a message of its channel; `str()` says what to enter instead."""


def welcome_route(contact: FamilyContact) -> tuple[str, str] | None:
    """Return how a welcome message reaches a contact: (channel, address), by email if they have one,
    else by text; None if they have neither."""
    for channel in (EMAIL, SMS):
        if address := welcome_address_on_chart(contact, channel):
            return channel, address
    return None


def welcome_address_on_chart(contact: FamilyContact, channel: str) -> str:
    """Return the contact's address for the channel as the chart has it ('' if none)."""
    return str(getattr(contact, CONTACT_FIELD[channel]) or "")


def welcome_address_chosen(contact: FamilyContact, channel: str, typed: str) -> str:
    """Return the address staff chose: what they typed, else the chart's, made ready to send to
    (`welcome_address_clean`). Raise `AddressInvalid` if there is none or it is not one."""
    address = typed.strip() or welcome_address_on_chart(contact, channel)
    if not address:
        raise AddressInvalid(f"{contact.full_name} has no {_ON_THE_CHART[channel]} on the chart. Enter one.")
    return welcome_address_clean(channel, address)


def welcome_address_clean(channel: str, address: str) -> str:
    """Return the address as it is stored and sent to: an email as typed, trimmed; a cell phone in
    E.164 (+12025550143). Raise `AddressInvalid` if it is not a valid one of its channel."""
    address = address.strip()
    if channel == EMAIL:
        try:
            validate_email(address)
        except ValidationError as error:
            raise AddressInvalid("Enter a valid email address, like name@example.com.") from error
        return address
    if channel == SMS:
        number = phone_parse(address)
        if not number or not number.is_valid():
            raise AddressInvalid("Enter a valid cell phone number, like (202) 555-0143.")
        return number.as_e164
    raise AddressInvalid(f"Unknown channel {channel!r}.")
