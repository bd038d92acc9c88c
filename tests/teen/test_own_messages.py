"""The PIN slip and the welcome email for the patient's own account speak to the patient, not a parent."""

import pytest
from django.core import mail
from django.urls import reverse

from registration.models import WelcomeMessage
from registration.services.teen_accounts import teen_contact_add
from registration.services.welcome_invites import welcome_invite

pytestmark = pytest.mark.django_db


@pytest.fixture
def own(teen, staff):
    """The teen's own contact on their chart."""
    return teen_contact_add(patient=teen, email="ana.own@example.net", cell_phone="", by=staff)


@pytest.mark.parametrize(
    ("language", "own_words", "parent_words"),
    [
        ("en", "your date of birth", "your child's date of birth"),
        ("es", "su fecha de nacimiento", "fecha de nacimiento de su hijo o hija"),
    ],
)
def test_the_welcome_email_to_the_patient_speaks_to_them(
    teen, own, staff, django_capture_on_commit_callbacks, language, own_words, parent_words
):
    own.contact.preferred_language = language
    own.contact.save(update_fields=["preferred_language"])
    for link in (own, teen.mother):
        link.contact.preferred_language = language
        link.contact.save(update_fields=["preferred_language"])
        with django_capture_on_commit_callbacks(execute=True):
            welcome_invite(
                patient=teen,
                contact=link.contact,
                channel=WelcomeMessage.Channel.EMAIL,
                address=link.contact.email,
                by=staff,
            )
    to_teen, to_mother = mail.outbox
    assert to_teen.to == ["ana.own@example.net"]
    assert own_words in to_teen.body and parent_words not in to_teen.body
    assert parent_words in to_mother.body and own_words not in to_mother.body.replace(parent_words, "")


def test_the_pin_slip_for_the_patient_speaks_to_them(client, teen, own, staff):
    own.contact.preferred_language = "en"  # the family's first parent speaks Spanish; this teen reads English
    own.contact.save(update_fields=["preferred_language"])
    client.force_login(staff)
    response = client.post(
        reverse("staff:pin-generate", args=[teen.pk, own.contact.pk]),
        {"path": "chart", "form_token": "slip-1"},
    )
    assert response.status_code == 200, response.content[:500]
    page = response.content.decode()
    assert "Enter the PIN and your date of birth." in page
    assert "your child" not in page
