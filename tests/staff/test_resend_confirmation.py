"""A PIN still valid is replaced only once staff confirm: from the appointment list, the register page,
the chart's Generate PIN and the message page's Resend. Until then nothing changes."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from registration.models import AuditEvent, Pin, WelcomeMessage
from registration.services.errors import OutstandingPin
from registration.services.pins import pin_issue
from registration.services.welcome_invites import welcome_invite
from tests.factories import AppointmentFactory, PatientContactFactory


def welcome_by_email(link, staff, **kwargs) -> WelcomeMessage:
    """Queue a welcome email to the link's contact, at the address on the chart."""
    return welcome_invite(
        patient=link.patient,
        contact=link.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=link.contact.email,
        by=staff,
        **kwargs,
    )


def _unchanged(pins: int, events: int) -> None:
    assert Pin.objects.count() == pins
    assert Pin.objects.filter(revoked_at__isnull=False).count() == 0
    assert AuditEvent.objects.exclude(action="signed_in").count() == events


@pytest.mark.django_db
def test_a_pending_row_offers_resend_with_when_the_message_went(front_desk_client, staff):
    link = PatientContactFactory()
    AppointmentFactory(patient=link.patient, starts_at=timezone.localtime().replace(hour=9, minute=0))
    message = welcome_by_email(link, staff, now=timezone.now() - dt.timedelta(days=3))
    WelcomeMessage.objects.filter(pk=message.pk).update(status="sent", sent_at=message.queued_at)

    html = " ".join(front_desk_client.get(reverse("staff:dashboard")).content.decode().split())

    sent_on = timezone.localtime(message.queued_at).strftime("%b %-d, %Y")
    assert f'>Resend</a> <span class="muted nowrap">sent {sent_on}</span>' in html
    assert ">Register</a>" not in html


@pytest.mark.django_db
def test_the_register_page_asks_before_replacing_a_pin_still_valid(front_desk_client, staff):
    link = PatientContactFactory()
    first = welcome_by_email(link, staff)
    events = AuditEvent.objects.exclude(action="signed_in").count()
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    form = {"contact": link.pk, "channel": "email", "address": ""}

    asked = front_desk_client.post(url, form)

    assert asked.status_code == 200
    assert asked.context["outstanding"] == first.pin
    text = " ".join(asked.content.decode().split())
    assert f"A PIN queued for {link.contact.email} at " in text
    assert "is still valid. Sending a new one stops the old one. Send a new PIN?" in text
    assert 'name="replace_outstanding" value="1"' in text
    _unchanged(pins=1, events=events)

    confirmed = front_desk_client.post(url, form | {"replace_outstanding": "1"})
    second = WelcomeMessage.objects.exclude(pk=first.pk).get()
    assert confirmed["Location"] == reverse("staff:welcome-message", args=[second.pk])
    first.pin.refresh_from_db()
    assert first.pin.end_reason == Pin.EndReason.SUPERSEDED


@pytest.mark.django_db
def test_generate_pin_asks_before_replacing_one_still_valid(front_desk_client, staff):
    link = PatientContactFactory()
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
    events = AuditEvent.objects.exclude(action="signed_in").count()
    url = reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk])
    form = {"path": "chart", "form_token": "a" * 32}

    asked = front_desk_client.post(url, form)

    assert asked.templates[0].name == "staff/pin_replace_confirm.html"
    text = " ".join(asked.content.decode().split())
    assert f"A PIN given to {link.contact.full_name} at " in text
    assert 'name="form_token" value="' + "a" * 32 in text, "the same form token: it was not used"
    _unchanged(pins=1, events=events)

    issued = front_desk_client.post(url, form | {"replace_outstanding": "1"})
    assert issued.templates[0].name == "staff/pin_issued.html"
    assert Pin.objects.filter(revoked_at__isnull=True).count() == 1 and Pin.objects.count() == 2


@pytest.mark.django_db
def test_an_expired_pin_is_replaced_without_asking(front_desk_client, staff):
    link = PatientContactFactory()
    long_ago = timezone.now() - dt.timedelta(days=90)
    pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff, now=long_ago)
    url = reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk])
    issued = front_desk_client.post(url, {"path": "chart", "form_token": "b" * 32})
    assert issued.templates[0].name == "staff/pin_issued.html"


@pytest.mark.django_db
def test_the_message_page_asks_before_resending(front_desk_client, staff):
    link = PatientContactFactory()
    first = welcome_by_email(link, staff)
    events = AuditEvent.objects.exclude(action="signed_in").count()
    url = reverse("staff:welcome-resend", args=[first.pk])

    asked = front_desk_client.post(url)

    text = " ".join(asked.content.decode().split())
    assert "Send a new PIN?" in text and ">Send a new PIN</button>" in text
    _unchanged(pins=1, events=events)
    assert front_desk_client.post(url, {"replace_outstanding": "1"}).status_code == 302
    assert WelcomeMessage.objects.count() == 2


@pytest.mark.django_db
def test_the_service_refuses_to_replace_unasked_and_says_which_pin(staff):
    link = PatientContactFactory()
    first = welcome_by_email(link, staff)
    with pytest.raises(OutstandingPin) as refused:
        welcome_by_email(link, staff, replace_outstanding=False)
    assert refused.value.pin == first.pin
    assert refused.value.pin.welcome_message == first


@pytest.mark.django_db
def test_confirming_replaces_only_the_pin_asked_about_not_a_colleagues_newer_one(front_desk_client, staff):
    """Asked about the PIN sent at 10:42, staff confirm; meanwhile a colleague sent another. The
    confirmation is for the first: the page asks again about the colleague's, and nothing is sent."""
    link = PatientContactFactory()
    first = welcome_by_email(link, staff)
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    form = {"contact": link.pk, "channel": "email", "address": ""}
    asked = front_desk_client.post(url, form)
    assert f'name="replaces_pin" value="{first.pin.pk}"' in asked.content.decode()

    colleagues = welcome_by_email(link, staff)  # a colleague resends, between the question and the click
    events = AuditEvent.objects.exclude(action="signed_in").count()
    again = front_desk_client.post(
        url, form | {"replace_outstanding": "1", "replaces_pin": str(first.pin.pk)}
    )

    assert again.status_code == 200
    assert again.context["outstanding"] == colleagues.pin
    assert Pin.objects.count() == 2 and Pin.objects.filter(revoked_at__isnull=True).get() == colleagues.pin
    assert AuditEvent.objects.exclude(action="signed_in").count() == events
    confirmed = front_desk_client.post(
        url, form | {"replace_outstanding": "1", "replaces_pin": str(colleagues.pin.pk)}
    )
    assert confirmed.status_code == 302
    assert WelcomeMessage.objects.count() == 3


@pytest.mark.django_db
def test_an_altered_hidden_field_on_resend_is_refused_plainly(front_desk_client, staff):
    first = welcome_by_email(PatientContactFactory(), staff)
    refused = front_desk_client.post(
        reverse("staff:welcome-resend", args=[first.pk]), {"replace_outstanding": "1", "replaces_pin": "x"}
    )
    assert refused.status_code == 400
    assert "The form was incomplete. Reload the page and try again." in refused.content.decode()
    assert WelcomeMessage.objects.count() == 1
