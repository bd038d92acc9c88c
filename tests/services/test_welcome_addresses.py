"""The one rule for where a welcome message goes: the staff form, the service and Register all use it."""

import pytest

from registration.models import WelcomeMessage
from registration.welcome_addresses import (
    AddressInvalid,
    welcome_address_chosen,
    welcome_address_clean,
    welcome_route,
)
from tests.factories import FamilyContactFactory

EMAIL, SMS = WelcomeMessage.Channel.EMAIL, WelcomeMessage.Channel.SMS

pytestmark = pytest.mark.django_db


def test_a_contact_is_reached_by_email_first_then_by_text_else_not_at_all():
    assert welcome_route(FamilyContactFactory(email="mum@example.org", cell_phone="+12025550143")) == (
        EMAIL,
        "mum@example.org",
    )
    assert welcome_route(FamilyContactFactory(email="", cell_phone="(202) 555-0143")) == (SMS, "+12025550143")
    assert welcome_route(FamilyContactFactory(email="", cell_phone="")) is None


def test_an_empty_address_means_the_charts_and_a_typed_one_is_cleaned():
    contact = FamilyContactFactory(email="mum@example.org", cell_phone="+12025550143")

    assert welcome_address_chosen(contact, EMAIL, "  ") == "mum@example.org"
    assert welcome_address_chosen(contact, SMS, "") == "+12025550143"
    assert welcome_address_chosen(contact, SMS, " 202.555.0199 ") == "+12025550199"
    assert welcome_address_chosen(contact, EMAIL, " dad@example.org ") == "dad@example.org"


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (EMAIL, "Sam Lee has no email on the chart. Enter one."),
        (SMS, "Sam Lee has no cell phone on the chart."),
    ],
)
def test_nothing_typed_and_nothing_on_the_chart_asks_for_an_address(channel, message):
    contact = FamilyContactFactory(first_name="Sam", last_name="Lee", email="", cell_phone="")

    with pytest.raises(AddressInvalid, match=message):
        welcome_address_chosen(contact, channel, "")


@pytest.mark.parametrize(
    ("channel", "address", "message"),
    [
        (EMAIL, "mum@@example.org", "valid email address"),
        (SMS, "(555) 201-3344", "valid cell phone number"),
        ("fax", "+12025550143", "Unknown channel"),
    ],
)
def test_an_address_its_channel_cannot_take_is_refused(channel, address, message):
    with pytest.raises(AddressInvalid, match=message):
        welcome_address_clean(channel, address)
