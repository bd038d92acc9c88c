"""The parent portal: each path a parent takes, and what they must never see."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse

from registration.models import PortalAccount, SelfRegistrationRequest
from registration.portal.tokens import EmailVerificationTokenGenerator
from registration.selectors import patient_portal_status
from registration.services.accounts import NewAccount
from registration.services.pins import pin_issue
from registration.services.self_registration import (
    ChildDetails,
    self_registration_authenticate,
    self_registration_decline,
)
from tests.factories import PatientContactFactory, confirmed_self_registration

PASSWORD = "quiet river lantern morning"


def account_fields(email="new.parent@example.org", **extra):
    return {
        "account-first_name": "Rosa",
        "account-last_name": "Diaz",
        "account-email": email,
        "account-cell_phone": "",
        "account-password": PASSWORD,
        "account-preferred_language": "en",
        **extra,
    }


def confirm_link_key(body: str) -> str:
    """The key of the 'confirm your email' link in an email: after '#', so browsers never send it."""
    return re.search(r"/portal/confirm-email/\?lang=\w+#(\S+)", body).group(1)


def confirm_email(client, body: str, **password) -> object:
    """Do what the confirm page's script does: post the link's key, and the password if asked."""
    return client.post(reverse("portal:verify-email"), {"key": confirm_link_key(body), **password})


def child_fields(*children):
    data = {"child-TOTAL_FORMS": str(len(children)), "child-INITIAL_FORMS": "0"}
    for i, (first, last, born) in enumerate(children):
        data |= {
            f"child-{i}-first_name": first,
            f"child-{i}-last_name": last,
            f"child-{i}-date_of_birth": born,
        }
    return data


@pytest.fixture
def pin(chart, staff):
    return pin_issue(patient=chart.patient, contact=chart.contact, path="chart", by=staff)


@pytest.mark.django_db
def test_pin_with_a_new_account_registers_the_child_and_signs_in_once_the_email_is_confirmed(
    client, chart, pin, django_capture_on_commit_callbacks
):
    data = {
        "pin": pin.code.lower().replace("-", " "),
        "child_birth_date": chart.patient.date_of_birth.isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:pin-start"), data | account_fields())
    assert response["Location"] == reverse("portal:sign-up-sent")
    assert patient_portal_status(chart.patient) == "registered"
    assert "_auth_user_id" not in client.session  # no sign-in before the email is confirmed
    assert "Confirm your email" in mail.outbox[0].subject
    # The browser that chose the password confirms with the link alone.
    assert confirm_email(client, mail.outbox[0].body)["Location"] == reverse("portal:home")
    home = client.get(reverse("portal:home"))
    assert chart.patient.first_name.encode() in home.content


@pytest.mark.django_db
def test_wrong_pin_or_birth_date_gets_one_neutral_message(client, chart, pin):
    base = account_fields()
    wrong_birth = client.post(
        reverse("portal:pin-start"),
        {
            "pin": pin.code,
            "child_birth_date": (chart.patient.date_of_birth - dt.timedelta(days=1)).isoformat(),
        }
        | base,
    )
    unknown_pin = client.post(
        reverse("portal:pin-start"),
        {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": chart.patient.date_of_birth.isoformat()} | base,
    )
    message = b"don&#x27;t match our records"
    assert message in wrong_birth.content and message in unknown_pin.content
    assert not PortalAccount.objects.exists()


@pytest.mark.django_db
def test_five_wrong_tries_lock_the_pin_and_say_to_ask_for_a_new_one(client, chart, pin):
    wrong = {"pin": pin.code, "child_birth_date": "2001-01-01"} | account_fields()
    for _ in range(4):
        client.post(reverse("portal:pin-start"), wrong)
    fifth = client.post(reverse("portal:pin-start"), wrong)
    assert b"locked" in fifth.content and b"new PIN" in fifth.content


@pytest.mark.django_db
def test_signed_in_parent_adds_a_sibling_with_a_second_pin(client, staff, django_capture_on_commit_callbacks):
    older, younger = PatientContactFactory(), None
    younger = PatientContactFactory(contact=older.contact)
    first = pin_issue(patient=older.patient, contact=older.contact, path="chart", by=staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("portal:pin-start"),
            {"pin": first.code, "child_birth_date": older.patient.date_of_birth.isoformat()}
            | account_fields(),
        )
    confirm_email(client, mail.outbox[0].body)
    second = pin_issue(patient=younger.patient, contact=younger.contact, path="chart", by=staff)
    page = client.get(reverse("portal:pin-start"))
    assert b"account-email" not in page.content  # signed in: only the PIN and date of birth
    client.post(
        reverse("portal:pin-start"),
        {"pin": second.code, "child_birth_date": younger.patient.date_of_birth.isoformat()},
    )
    assert PortalAccount.objects.get().accesses.count() == 2


@pytest.mark.django_db
def test_sign_up_without_pin_answers_the_same_whether_or_not_the_email_has_an_account(
    client, django_capture_on_commit_callbacks
):
    data = account_fields() | child_fields(("Leo", "Diaz", "2019-04-17"))
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("portal:sign-up"), data)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("portal:sign-up"), account_fields(email="NEW.parent@example.org") | data)
    assert first["Location"] == again["Location"] == reverse("portal:sign-up-sent")
    assert PortalAccount.objects.count() == 1
    assert [m.subject.split()[0] for m in mail.outbox] == ["Confirm", "You"]
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_confirming_the_email_signs_in_and_shows_the_request_waiting_then_declined(
    client, staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("portal:sign-up"), account_fields() | child_fields(("Leo", "Diaz", "2019-04-17")))
    response = confirm_email(client, mail.outbox[0].body)
    assert response["Location"] == reverse("portal:home")
    assert PortalAccount.objects.get().email_verified_at is not None
    home = client.get(reverse("portal:home"))
    assert b"Waiting for the practice" in home.content and b"Leo" in home.content
    self_registration_decline(
        request=SelfRegistrationRequest.objects.get(),
        reason="no_match",
        note="We have no patient named Leo Diaz.",
        by=staff,
    )
    declined = client.get(reverse("portal:home")).content.decode()
    assert "We could not match your child to our records." in declined
    assert "The practice's note:</strong> “We have no patient named Leo Diaz.”" in declined
    assert confirm_email(client, mail.outbox[0].body).status_code == 400  # a spent link


@pytest.mark.django_db
def test_parents_see_only_their_own_authenticated_children(client, staff):
    # Names no page text holds by chance (a random "June" is also a month on the page).
    mine = PatientContactFactory(patient__first_name="Mirabel", patient__last_name="Quenneville")
    theirs = PatientContactFactory(patient__first_name="Tobiah", patient__last_name="Ravensworth")
    request = confirmed_self_registration(
        children=[ChildDetails(mine.patient.first_name, mine.patient.last_name, mine.patient.date_of_birth)],
        new_account=NewAccount(email="me@example.org", password=PASSWORD, first_name="M", last_name="E"),
    )[0]
    client.login(username="me@example.org", password=PASSWORD)
    assert (
        mine.patient.last_name.encode()
        not in client.get(reverse("portal:home")).content.split(b"Your requests")[0]
    )
    self_registration_authenticate(request=request, patient=mine.patient, contact=mine.contact, by=staff)
    home = client.get(reverse("portal:home")).content
    assert mine.patient.first_name.encode() in home
    assert theirs.patient.first_name.encode() not in home


@pytest.mark.django_db
def test_staff_cannot_use_the_parent_sign_in_and_parents_cannot_use_the_staff_one(client, staff):
    response = client.post(
        reverse("portal:sign-in"), {"username": staff.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_password_reset_says_the_same_for_unknown_addresses(client, staff):
    known = client.post(reverse("portal:password-reset"), {"email": staff.email})
    unknown = client.post(reverse("portal:password-reset"), {"email": "nobody@example.org"})
    assert known["Location"] == unknown["Location"] == reverse("portal:password-reset-sent")
    assert mail.outbox == []  # staff reset passwords through an admin, not the parent portal


@pytest.mark.django_db
def test_spanish_pages_and_messages(client, chart, pin):
    client.cookies["django_language"] = "es"
    page = client.post(
        reverse("portal:pin-start"),
        {"pin": pin.code, "child_birth_date": "2001-01-01"} | account_fields(),
    )
    assert "no coinciden con nuestros registros" in page.content.decode()
    assert 'lang="es"' in page.content.decode()


@pytest.mark.django_db
def test_password_rules_at_least_15_at_most_128_and_not_common(client):
    url = reverse("portal:sign-up")
    kids = child_fields(("Leo", "Diaz", "2019-04-17"))
    short = client.post(url, account_fields(**{"account-password": "short pass"}) | kids)
    long = client.post(url, account_fields(**{"account-password": "x" * 129}) | kids)
    assert b"at least 15" in short.content.lower() or b"too short" in short.content.lower()
    assert b"at most 128" in long.content.lower()
    assert not PortalAccount.objects.exists()


@pytest.mark.django_db
def test_add_another_child_keeps_what_was_typed(client):
    """The password too: the page goes back only to the browser that typed it, and is never cached."""
    data = account_fields() | child_fields(("Leo", "Diaz", "2019-04-17")) | {"add_child": "1"}
    page = client.post(reverse("portal:sign-up"), data)
    assert page.context["children"].total_form_count() == 2
    assert b'value="Leo"' in page.content and b"Rosa" in page.content
    assert f'value="{PASSWORD}"'.encode() in page.content
    assert "no-store" in page["Cache-Control"]
    assert b"field-error" not in page.content


@pytest.mark.django_db
def test_remove_a_child_keeps_the_other_rows(client):
    kids = child_fields(("Leo", "Diaz", "2019-04-17"), ("Ana", "Diaz", "2020-02-02"), ("Eva", "Diaz", ""))
    page = client.post(reverse("portal:sign-up"), account_fields() | kids | {"remove_child": "1"})
    assert page.context["children"].total_form_count() == 2
    assert b'value="Leo"' in page.content and b'value="Eva"' in page.content
    assert b'value="Ana"' not in page.content
    assert f'value="{PASSWORD}"'.encode() in page.content
    assert b"field-error" not in page.content
    assert not PortalAccount.objects.exists()


@pytest.mark.django_db
def test_the_first_child_cannot_be_removed_and_an_added_empty_row_is_skipped(client):
    url = reverse("portal:sign-up")
    kids = child_fields(("Leo", "Diaz", "2019-04-17"))
    page = client.post(url, account_fields() | kids | {"remove_child": "0"})
    assert page.context["children"].total_form_count() == 1 and b'value="Leo"' in page.content
    # The row added and left empty: the management form counts it as new, so submitting skips it.
    page = client.post(url, account_fields() | kids | {"add_child": "1"})
    assert 'name="child-INITIAL_FORMS" value="0"' in page.content.decode()
    client.post(url, account_fields() | kids | {"child-TOTAL_FORMS": "2"})
    assert PortalAccount.objects.count() == 1


@pytest.mark.django_db
def test_an_error_keeps_the_password(client):
    kids = child_fields(("Leo", "Diaz", "2019-04-17"))
    page = client.post(reverse("portal:sign-up"), account_fields(**{"account-email": "not an email"}) | kids)
    assert b"field-error" in page.content
    assert f'value="{PASSWORD}"'.encode() in page.content


def test_confirm_links_already_sent_still_work_after_the_token_module_moved():
    """The token's salt is part of every link emailed: it keeps the value links were made with."""
    assert EmailVerificationTokenGenerator.key_salt == "registration.tokens.EmailVerificationTokenGenerator"
