"""Issue 12, finding 1: a child's record reached through an account whose email was never confirmed.

Route A: a stranger signs up with the email of a parent on file and the child's name and birth date.
Route B: a stranger signs up with a parent's email; the parent follows the "confirm" link and is handed
the stranger's account. Both are replayed here and refused. And the proof that replaces typed details:
a code sent to the phone or email the chart already has for the contact (NIST SP 800-63A's enrollment
code), never to what was typed, with the same answer whether or not the sign-up matched anyone.
"""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from registration.models import (
    AuditEvent,
    EnrollmentCode,
    PortalAccess,
    PortalAccount,
    SelfRegistrationRequest,
)
from registration.selectors import reconcile_candidates
from registration.services.accounts import portal_account_verify_email
from registration.services.enrollment_codes import enrollment_code_prove
from registration.services.errors import RegistrationError
from registration.services.pins import pin_issue
from tests.factories import FamilyContactFactory, PatientContactFactory, PatientFactory

STRANGER_PASSWORD = "stranger's own pass phrase"
MOTHERS_PHONE = "+12025550163"
TYPED_PHONE = "+12025550199"


class TextsTaken:
    """The text provider, as far as the portal can tell: it takes each text and keeps it for the test."""

    sent: list[dict] = []

    def send(self, *, to: str, body: str, reference: str) -> str:
        type(self).sent.append({"to": to, "body": body})
        return f"SM{len(type(self).sent)}"


@pytest.fixture
def texts(settings):
    settings.SMS_BACKEND = f"{__name__}.TextsTaken"
    TextsTaken.sent = []
    return TextsTaken.sent


@pytest.fixture
def chart(db):
    """Maya, whose mother is on her chart with her own email and cell phone; nobody has an account."""
    maya = PatientFactory(first_name="Maya", last_name="Fernández", date_of_birth=dt.date(2019, 5, 2))
    mother = FamilyContactFactory(
        first_name="Lucía",
        last_name="Fernández",
        email="lucia.fernandez@example.org",
        cell_phone=MOTHERS_PHONE,
    )
    return PatientContactFactory(patient=maya, contact=mother, relationship="mother")


def sign_up(client, *, email, first="Lucia", last="Fernandez", child=("Maya", "Fernandez", "2019-05-02")):
    data = {
        "account-first_name": first,
        "account-last_name": last,
        "account-email": email,
        "account-cell_phone": TYPED_PHONE,
        "account-password": STRANGER_PASSWORD,
        "account-preferred_language": "en",
        "child-TOTAL_FORMS": "1",
        "child-INITIAL_FORMS": "0",
        "child-0-first_name": child[0],
        "child-0-last_name": child[1],
        "child-0-date_of_birth": child[2],
    }
    return client.post(reverse("portal:sign-up"), data)


def sign_in(client, email, password):
    return client.post(reverse("portal:sign-in"), {"username": email, "password": password})


def confirm_key(body: str) -> str:
    return re.search(r"/portal/confirm-email/\?lang=\w+#(\S+)", body).group(1)


def test_route_a_an_unconfirmed_account_cannot_sign_in_nor_be_given_the_child(
    chart, staff, texts, django_capture_on_commit_callbacks
):
    stranger = Client()
    with django_capture_on_commit_callbacks(execute=True):
        answer = sign_up(stranger, email=chart.contact.email)  # the mother's email, from anywhere
    assert answer["Location"] == reverse("portal:sign-up-sent")
    assert "_auth_user_id" not in stranger.session

    refused = sign_in(Client(), chart.contact.email, STRANGER_PASSWORD)
    assert refused.status_code == 200 and b"Confirm your email first" in refused.content
    assert stranger.get(reverse("portal:home"))["Location"].startswith(reverse("portal:sign-in"))

    # Staff: the typed email counts for nothing, nothing is preselected, and Authenticate is refused.
    request = SelfRegistrationRequest.objects.select_related("account__user").get()
    [best] = reconcile_candidates(request)[:1]
    assert best.patient == chart.patient
    assert not any("email" in reason or "phone" in reason for reason in best.reasons)
    desk = Client()
    desk.force_login(staff)
    page = desk.get(reverse("staff:reconcile", args=[request.pk]))
    assert b"has not confirmed their email yet" in page.content
    assert b'action="' + reverse("staff:authenticate", args=[request.pk]).encode() not in page.content
    forced = desk.post(
        reverse("staff:authenticate", args=[request.pk]), {"match": f"{chart.patient.pk}:{chart.contact.pk}"}
    )
    assert forced.status_code == 400 and b"has not confirmed their email yet" in forced.content
    assert not PortalAccess.objects.exists()
    print(
        "\nroute A replayed: sign-up with the mother's email -> not signed in; sign-in with its password "
        "-> 'confirm your email first'; staff: 0 evidence from typed details, Authenticate refused, "
        "0 accesses"
    )


def test_route_b_the_confirm_link_does_not_hand_the_parent_a_strangers_account(
    chart, staff, texts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(Client(), email=chart.contact.email)
    [confirm] = [m for m in mail.outbox if "Confirm your email" in m.subject]
    assert confirm.to == [chart.contact.email]

    # The real mother opens the link on her phone: the page asks for the account's password.
    mother = Client()
    page = mother.get(reverse("portal:verify-email"))
    assert page.status_code == 200 and b'name="password"' in page.content
    without = mother.post(reverse("portal:verify-email"), {"key": confirm_key(confirm.body)})
    wrong = mother.post(
        reverse("portal:verify-email"), {"key": confirm_key(confirm.body), "password": "guess"}
    )
    assert without.status_code == wrong.status_code == 400
    assert "_auth_user_id" not in mother.session
    assert PortalAccount.objects.get().email_verified_at is None

    # She then redeems the office PIN: the child never reaches the stranger's account.
    pin = pin_issue(
        patient=chart.patient,
        contact=chart.contact,
        path="chart",
        by=staff,
        duplicate_override_reason="The mother is at the desk; she did not sign up.",
    )
    mother.post(
        reverse("portal:pin-start"),
        {
            "pin": pin.code,
            "child_birth_date": "2019-05-02",
            "account-first_name": "Lucía",
            "account-last_name": "Fernández",
            "account-email": chart.contact.email,
            "account-cell_phone": "",
            "account-password": "the mother's own pass phrase",
            "account-preferred_language": "es",
        },
    )
    assert not PortalAccess.objects.filter(account__user__email=chart.contact.email).exists()
    assert sign_in(Client(), chart.contact.email, STRANGER_PASSWORD).status_code == 200  # still refused
    print(
        "\nroute B replayed: the mother's browser, confirm link without the password and with a wrong "
        "one -> 400 each, not signed in, account unconfirmed; her PIN gave the stranger's account nothing"
    )


def test_the_browser_that_chose_the_password_confirms_with_the_link_alone_and_the_key_never_reaches_a_log(
    chart, texts, django_capture_on_commit_callbacks
):
    parent = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(parent, email="lucia.new@example.org")
    [confirm] = [m for m in mail.outbox if "Confirm your email" in m.subject]
    link = re.search(r"https?://\S+", confirm.body).group()
    address, _hash, key = link.partition("#")
    assert key and key.split(".", 1)[1] not in address  # the token is in the fragment only
    # All a browser sends, and all a log can hold; it follows the redirect that takes `lang` out.
    page = parent.get(address.split("8000", 1)[-1], follow=True)
    assert page.status_code == 200 and b'name="password"' not in page.content
    assert page.redirect_chain == [(reverse("portal:verify-email"), 302)]
    assert parent.post(reverse("portal:verify-email"), {"key": key})["Location"] == reverse("portal:home")
    assert PortalAccount.objects.get().email_verified_at is not None
    assert parent.get(reverse("portal:verify-email-old", args=["MQ", "a-token"])).status_code == 400
    print(f"\nconfirm link: {address.split('8000', 1)[-1]}#<key>; the request line holds no key")


# ---------------------------------------------------------------- the code sent to the contact on file


def _page_without_tokens(response) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def test_a_sign_up_naming_a_contact_on_file_gets_a_code_on_the_phone_on_file_and_no_match_gets_the_same_page(
    chart, staff, texts, django_capture_on_commit_callbacks
):
    matched, unmatched = Client(), Client()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(matched, email="lucia.phone@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(
            unmatched,
            email="someone@example.org",
            first="Nadie",
            last="Nunca",
            child=("Zoe", "Nunca", "2020-01-01"),
        )
    pages = [_page_without_tokens(c.get(reverse("portal:sign-up-sent"))) for c in (matched, unmatched)]
    assert pages[0] == pages[1] and b"Got a code from the practice?" in pages[0]

    [text] = texts  # one text, to the mother's phone on file; none to the typed phone, none for no match
    assert text["to"] == MOTHERS_PHONE
    code = re.search(r"\b(\d{6})\b", text["body"]).group(1)
    assert EnrollmentCode.objects.get().code_hash != code

    entered = matched.post(reverse("portal:enrollment-code"), {"code": code})
    assert entered["Location"] == reverse("portal:sign-up-sent")
    assert b"Got a code from the practice?" not in matched.get(reverse("portal:sign-up-sent")).content
    request = SelfRegistrationRequest.objects.select_related("account__user").get(
        account__user__email="lucia.phone@example.org"
    )
    [best] = reconcile_candidates(request)[:1]
    assert best.patient == chart.patient and best.proved_contact_id == chart.contact.pk
    assert best.reasons[0] == "proved by a code sent to the mother's phone on file"
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.ENROLLMENT_CODE_PROVED, contact=chart.contact
    ).exists()

    # Staff, once the email is confirmed: the proof shown, and the mother preselected.
    portal_account_verify_email(account=request.account)
    desk = Client()
    desk.force_login(staff)
    page = desk.get(reverse("staff:reconcile", args=[request.pk])).content.decode()
    assert "proved by a code sent to the mother&#x27;s phone on file" in page
    assert f'value="{chart.patient.pk}:{chart.contact.pk}" checked' in page or re.search(
        rf'value="{chart.patient.pk}:{chart.contact.pk}"[^>]*checked', page
    )
    print(
        "\ncode on file: 2 sign-ups (one matching the mother on Maya's chart, one matching nobody): the "
        f"same page; 1 text, to the phone on file ({MOTHERS_PHONE}), 0 to the typed {TYPED_PHONE}; the code "
        "entered -> ranked first, 'proved by a code sent to the mother's phone on file', mother preselected"
    )


def test_without_a_phone_on_file_the_code_goes_to_the_email_on_file_and_lasts_24_hours(
    chart, texts, django_capture_on_commit_callbacks, settings
):
    chart.contact.cell_phone = ""
    chart.contact.save()
    parent = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(parent, email="typed.address@example.org")
    assert texts == []
    [by_email] = [m for m in mail.outbox if "Your code" in m.subject]
    assert by_email.to == [chart.contact.email]  # the address on file, not the typed one
    code = re.search(r"\b(\d{6})\b", by_email.body).group(1)
    row = EnrollmentCode.objects.get()
    assert row.channel == "email" and row.expires_at - row.created_at == dt.timedelta(hours=24)
    account = PortalAccount.objects.get()
    later = timezone.now() + dt.timedelta(hours=23)
    assert enrollment_code_prove(account=account, code=code, now=later).status == "proved"


def test_a_text_code_lasts_10_minutes_and_5_wrong_tries_end_it(
    chart, texts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(Client(), email="lucia.slow@example.org")
    code = re.search(r"\b(\d{6})\b", texts[0]["body"]).group(1)
    account = PortalAccount.objects.get()
    wrong = str(999999 - int(code)).zfill(6)
    too_late = timezone.now() + dt.timedelta(minutes=11)
    with pytest.raises(RegistrationError):
        enrollment_code_prove(account=account, code=code, now=too_late)
    for _ in range(5):
        with pytest.raises(RegistrationError) as refused:
            enrollment_code_prove(account=account, code=wrong)
    with pytest.raises(RegistrationError) as after:
        enrollment_code_prove(account=account, code=code)
    assert str(refused.value) == str(after.value)  # the same words: nothing said about codes sent
    assert EnrollmentCode.objects.get().status == "locked"
    print(
        "\ntext code: right code at 11 minutes refused; 5 wrong tries -> locked; the right one then refused"
    )


def test_entering_a_code_when_none_was_sent_answers_as_a_wrong_one(
    db, texts, django_capture_on_commit_callbacks
):
    parent = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(parent, email="nobody.known@example.org", child=("Zoe", "Nunca", "2020-01-01"))
    answer = parent.post(reverse("portal:enrollment-code"), {"code": "123456"})
    assert answer.status_code == 400 and b"That code doesn" in answer.content
    assert texts == [] and not EnrollmentCode.objects.exists()


def test_resetting_the_password_takes_back_an_account_a_stranger_made_with_her_address(
    chart, texts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(Client(), email=chart.contact.email)
    mother = Client()
    with django_capture_on_commit_callbacks(execute=True):
        mother.post(reverse("portal:password-reset"), {"email": chart.contact.email})
    [reset] = [m for m in mail.outbox if "password" in m.subject.lower()]
    link = re.search(r"/portal/password-reset/\S+/", reset.body).group()
    form = mother.get(link)["Location"]
    chosen = "the mother's own pass phrase"
    mother.post(form, {"new_password1": chosen, "new_password2": chosen})
    assert PortalAccount.objects.get().email_verified_at is not None  # the link reached her mailbox
    assert sign_in(Client(), chart.contact.email, STRANGER_PASSWORD).status_code == 200  # refused
    assert sign_in(Client(), chart.contact.email, chosen)["Location"] == reverse("portal:home")
    print(
        "\npassword reset by the address's owner: account confirmed, stranger's password refused, hers works"
    )


def test_sign_ups_naming_a_parent_send_her_at_most_3_codes_a_day(
    chart, texts, django_capture_on_commit_callbacks
):
    """Strangers signing up in her name, from many addresses, must not flood the mother's phone."""
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            sign_up(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"), email=f"someone{n}@example.org")
    assert SelfRegistrationRequest.objects.count() == 5
    assert [t["to"] for t in texts] == [MOTHERS_PHONE] * 3
    print(f"\n5 sign-ups naming the mother from 5 addresses: {len(texts)} texts to her phone on file")
