"""What a welcome message says: how to register and the PIN, and nothing about the child."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from patients.models import FamilyContact
from registration.models import PortalStatus, WelcomeMessage
from registration.pin_codes import pin_parse
from registration.selectors import patient_portal_status
from registration.services.errors import PinNotAccepted
from registration.services.pin_redemption import pin_redeem
from tests.factories import FamilyContactFactory, NewAccountFactory, PatientContactFactory, PatientFactory
from tests.messaging.support import EMAIL, SMS, URL, codes_in, pin_forms

PORTAL = "https://portal.maplestreetpediatrics.example.org"

# GSM 03.38's basic set and its extension (which costs two units). Anything else makes the whole
# text UCS-2, where a single segment holds 70 characters instead of 160.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€")


def sms_segments(text: str) -> int:
    """How many SMS segments `text` takes."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        return 1 if units <= 160 else -(-units // 153)
    return 1 if len(text) <= 70 else -(-len(text) // 67)


REGISTER_AT = PORTAL + "/portal/pin/"
BIRTH = dt.date(2019, 7, 23)
# The child's date of birth as any template filter or locale might write it.
BIRTH_FORMS = [
    "2019-07-23",
    "07/23/2019",
    "7/23/2019",
    "23/07/2019",
    "23/7/2019",
    "July 23, 2019",
    "Jul. 23, 2019",
    "Jul 23, 2019",
    "23 de julio de 2019",
    "07/23/19",
    "7/23/19",
]


@pytest.fixture(autouse=True)
def long_portal_address(settings):
    settings.PORTAL_BASE_URL = PORTAL


@pytest.fixture
def child():
    """A chart whose child's details are unlike anything else a message could contain."""
    return PatientContactFactory(
        patient=PatientFactory(
            first_name="Zebediah", last_name="Quillfeather", date_of_birth=BIRTH, mrn="MRN7741952"
        )
    )


def _assert_nothing_about_the_child(text: str, link) -> None:
    patient = link.patient
    for secret in ["Zebediah", "Quillfeather", patient.mrn, "7741952", *BIRTH_FORMS]:
        assert secret.lower() not in text.lower(), secret


def test_email_has_text_and_html_with_the_address_and_pin_and_nothing_about_the_child(
    invite, child, sent_pin
):
    message = invite(EMAIL, child)

    [email] = mail.outbox
    code = sent_pin(message)
    assert email.to == [child.contact.email]
    assert email.content_subtype == "plain"
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    for part in (email.body, html):
        assert code in part
        assert REGISTER_AT in part
    assert "Maple Street Pediatrics" in email.subject
    whole = email.message().as_string()
    for text in (email.subject, email.body, html, whole):
        _assert_nothing_about_the_child(text, child)
    assert pin_parse(code).lookup == WelcomeMessage.objects.get().pin.lookup


def test_the_emails_link_carries_the_pin_only_in_its_fragment(invite, child, sent_pin):
    """Browsers never send a fragment to a server: the PIN page's script fills the PIN in from it, and
    no request, log or Referer holds it (issue 13)."""
    message = invite(EMAIL, child)

    [email] = mail.outbox
    code = sent_pin(message)
    html = email.alternatives[0][0]
    links = URL.findall(email.body) + re.findall(r'href="([^"]+)"', html)
    assert len(links) == 2, "each part links to the portal"
    assert set(links) == {REGISTER_AT + "?lang=en#pin=" + code.replace("-", "")}
    for link in links:
        sent_to_the_server = urlsplit(link)._replace(fragment="").geturl()
        assert not any(form in sent_to_the_server.upper() for form in pin_forms(code)), link
    assert f">{REGISTER_AT}</a>" in html, "the HTML link reads as the plain address"


@pytest.mark.parametrize(
    "language",
    [FamilyContact.Language.ENGLISH, FamilyContact.Language.SPANISH],
)
def test_the_text_fits_one_sms_segment(invite, language, sent_text, sent_pin):
    """Checked in each language: a Spanish translation must fit as well (accents can make a text
    UCS-2, which holds only 70 characters in a segment)."""
    link = PatientContactFactory(
        patient=PatientFactory(first_name="Zebediah", last_name="Quillfeather", date_of_birth=BIRTH),
        contact=FamilyContactFactory(preferred_language=language),
    )

    message = invite(SMS, link)

    assert message.language == language
    body = sent_text(message)
    assert sms_segments(body) == 1, f"{len(body)} characters: {body}"
    assert sent_pin(message) in body
    assert REGISTER_AT.removeprefix("https://") in body
    _assert_nothing_about_the_child(body, link)


@pytest.mark.parametrize("language", [FamilyContact.Language.ENGLISH, FamilyContact.Language.SPANISH])
def test_the_email_is_in_the_contacts_language(invite, language):
    link = PatientContactFactory(contact=FamilyContactFactory(preferred_language=language))

    invite(EMAIL, link)

    [email] = mail.outbox
    assert f'<html lang="{language}">' in email.alternatives[0][0]


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the euro sign takes two units of GSM's extension
        ("€" * 81, 2),
        ("á" * 70, 1),  # not in GSM 03.38: the text goes as UCS-2
        ("á" * 71, 2),
    ],
)
def test_sms_segments_counts_gsm_and_unicode_texts(text, segments):
    assert sms_segments(text) == segments


@pytest.mark.parametrize("channel", [EMAIL, SMS])
def test_the_pin_in_the_message_registers_the_child(invite, child, sent_pin, channel):
    """End to end: staff invite, the message goes out, the parent types the PIN it carries."""
    message = invite(channel, child)
    assert patient_portal_status(child.patient) == PortalStatus.PENDING

    code = sent_pin(message)
    with pytest.raises(PinNotAccepted):  # the date of birth must match, as with any PIN
        pin_redeem(code=code, child_birth_date=dt.date(2019, 7, 24), new_account=NewAccountFactory())
    access = pin_redeem(
        code=code.lower().replace("-", " "), child_birth_date=BIRTH, new_account=NewAccountFactory()
    )

    assert (access.patient, access.contact, access.pin) == (child.patient, child.contact, message.pin)
    assert patient_portal_status(child.patient) == PortalStatus.REGISTERED


def test_only_the_latest_attempts_pin_works(invite, child, sent_pin, email_provider, cron, settings):
    """A failed attempt's PIN is thrown away: only the PIN in the message that went out works."""
    settings.WELCOME_RETRY_BASE_SECONDS = 0
    email_provider.failures_left = 1
    message = invite(EMAIL, child)
    cron()

    [failed_code, sent_code] = codes_in([email.body for email in email_provider.attempted])
    assert sent_pin(message) == sent_code != failed_code
    with pytest.raises(PinNotAccepted):
        pin_redeem(code=failed_code, child_birth_date=BIRTH, new_account=NewAccountFactory())
    pin_redeem(code=sent_code, child_birth_date=BIRTH, new_account=NewAccountFactory())
