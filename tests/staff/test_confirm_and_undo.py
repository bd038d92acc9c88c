"""Decline and Disable duplicate ask first and change nothing until confirmed; Reopen and Enable again undo
them."""

import datetime as dt
import html as html_text
import re

import pytest
from django.urls import reverse

from registration.models import AuditEvent, PortalAccount, SelfRegistrationRequest
from registration.services.accounts import account_disable_duplicate
from registration.services.self_registration import self_registration_decline
from tests.factories import ChildDetailsFactory, NewAccountFactory, confirmed_self_registration

pytestmark = pytest.mark.django_db
Status = SelfRegistrationRequest.Status


def _request(language="en"):
    [request] = confirmed_self_registration(
        children=[
            ChildDetailsFactory(first_name="Rowan", last_name="Quill", date_of_birth=dt.date(2017, 7, 7))
        ],
        new_account=NewAccountFactory(email="jordan@example.net", preferred_language=language),
    )
    return request


def _text(response) -> str:
    return re.sub(r"\s+", " ", html_text.unescape(response.content.decode()))


def test_decline_first_shows_what_the_parent_will_read_in_their_language_and_changes_nothing(
    front_desk_client,
):
    request = _request(language="es")
    events_before = AuditEvent.objects.count()

    page = front_desk_client.post(
        reverse("staff:decline", args=[request.pk]), {"reason": "not_guardian", "note": "Traiga los papeles."}
    )

    assert page.status_code == 200
    assert page.templates[0].name == "staff/decline_confirm.html"
    html = _text(page)
    assert "The parent will read, in Spanish" in html
    assert "Usted no figura como padre, madre o tutor en el expediente de su hijo o hija." in html
    assert "Nota de la consulta:</strong> “Traiga los papeles.”" in html
    assert "You are not listed as a parent or guardian" in html  # the English beside it, for staff
    assert '<input type="hidden" name="confirmed" value="1">' in html
    request.refresh_from_db()
    assert request.status == Status.AWAITING
    assert AuditEvent.objects.count() == events_before


def test_the_confirmed_decline_acts_and_lands_on_the_request_with_reopen_at_hand(front_desk_client):
    request = _request()
    url = reverse("staff:decline", args=[request.pk])

    page = front_desk_client.post(url, {"reason": "no_match", "note": "", "confirmed": "1"}, follow=True)

    assert page.redirect_chain == [(reverse("staff:reconcile", args=[request.pk]), 302)]
    request.refresh_from_db()
    assert (request.status, request.decline_reason, request.decline_note) == (Status.DECLINED, "no_match", "")
    html = _text(page)
    assert "Declined Rowan Quill's request." in html
    assert "We could not match your child to our records." in html
    assert "Reopen the request</button>" in html


def test_change_the_reason_goes_back_to_the_request_with_the_reason_and_note_kept(front_desk_client):
    request = _request()
    url = reverse("staff:decline", args=[request.pk])
    asked = front_desk_client.post(url, {"reason": "call_practice", "note": "Ask for Dana."})
    assert (
        '<button type="submit" name="change" value="1">Change the reason</button>' in asked.content.decode()
    )

    back = front_desk_client.post(
        url, {"reason": "call_practice", "note": "Ask for Dana.", "confirmed": "1", "change": "1"}
    )

    assert back.status_code == 200
    assert back.templates[0].name == "staff/reconcile.html"
    form = back.context["decline_form"]
    assert (form["reason"].value(), form["note"].value()) == ("call_practice", "Ask for Dana.")
    assert re.search(r'value="call_practice"[^>]*checked', back.content.decode())
    request.refresh_from_db()
    assert request.status == Status.AWAITING


def test_declining_a_request_decided_meanwhile_says_so_and_shows_no_confirmation(front_desk_client, staff):
    request = _request()
    self_registration_decline(request=request, reason="duplicate", by=staff)

    page = front_desk_client.post(
        reverse("staff:decline", args=[request.pk]), {"reason": "no_match"}, follow=True
    )

    assert "staff/decline_confirm.html" not in [t.name for t in page.templates]
    assert "Someone has already decided this self-registration request." in _text(page)


def test_reopen_puts_the_request_back_and_says_what_changed(front_desk_client, staff):
    request = _request()
    self_registration_decline(request=request, reason="no_match", by=staff)

    page = front_desk_client.post(reverse("staff:reopen", args=[request.pk]), follow=True)

    request.refresh_from_db()
    assert request.status == Status.AWAITING
    html = _text(page)
    assert "Reopened: Rowan Quill's request is back in the queue, waiting." in html
    assert "Decline…</button>" in html  # waiting again: the decision forms are back

    again = front_desk_client.post(reverse("staff:reopen", args=[request.pk]), follow=True)
    assert "This request is no longer declined" in _text(again)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_REOPENED).count() == 1


# ---------------------------------------------------------------- duplicate accounts


def _disable_form(duplicate, kept, **extra):
    return {"first": duplicate.pk, "second": kept.pk, "keep": kept.pk, "reason": "Signed up twice", **extra}


def test_disable_first_shows_what_will_happen_and_changes_nothing(admin_client, make_duplicate_accounts):
    duplicate, kept = make_duplicate_accounts()
    events_before = AuditEvent.objects.count()

    page = admin_client.post(reverse("staff:disable-duplicate"), _disable_form(duplicate, kept))

    assert page.status_code == 200
    html = _text(page)
    child = duplicate.accesses.get().patient.full_name
    assert f"Disable {duplicate.user.email}?" in html
    assert (
        f"<strong>{kept.user.email}</strong> ({kept.user.get_full_name()}) is the account that stays." in html
    )
    assert f"Moving to {kept.user.email}: {child}." in html
    assert f"The parent is not told: tell them to sign in with {kept.user.email}." in html
    assert "“Signed up twice”" in html
    duplicate.refresh_from_db()
    assert not duplicate.is_disabled and duplicate.user.is_active
    assert AuditEvent.objects.count() == events_before


def test_the_confirmation_refuses_what_the_service_would(admin_client, make_portal_account):
    one, two = make_portal_account(), make_portal_account()

    page = admin_client.post(reverse("staff:disable-duplicate"), _disable_form(one, two))

    assert page.status_code == 400
    assert "not a suggested duplicate pair" in _text(page)


def test_the_confirmed_disable_acts_and_offers_to_enable_again(admin_client, make_duplicate_accounts):
    duplicate, kept = make_duplicate_accounts()

    page = admin_client.post(
        reverse("staff:disable-duplicate"), _disable_form(duplicate, kept, confirmed="1"), follow=True
    )

    duplicate.refresh_from_db()
    assert duplicate.is_disabled and duplicate.merged_into == kept
    html = _text(page)
    assert f"Disabled {duplicate.user.email}: it can no longer sign in. {kept.user.email} is kept." in html
    assert "pairs found" not in html  # the settled pair leaves no "1 pairs found, the first 0 shown"
    assert "No suspected duplicates." in html
    assert f"Enable {duplicate.user.email} again</button>" in html


def test_enable_again_says_what_came_back(admin_client, admin, make_duplicate_accounts):
    duplicate, kept = make_duplicate_accounts()
    child = duplicate.accesses.get().patient.full_name
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")

    page = admin_client.post(reverse("staff:reenable-account", args=[duplicate.pk]), follow=True)

    duplicate = PortalAccount.objects.select_related("user").get(pk=duplicate.pk)
    assert not duplicate.is_disabled and duplicate.user.is_active
    html = _text(page)
    assert f"Enabled {duplicate.user.email} again: it can sign in." in html
    assert f"Moved back to it from {kept.user.email}: {child}." in html
    assert len(page.context["duplicates"].pairs) == 1  # the pair is back to settle

    again = admin_client.post(reverse("staff:reenable-account", args=[duplicate.pk]), follow=True)
    assert "This account is not disabled" in _text(again)


def test_front_desk_cannot_enable_an_account_again(front_desk_client, admin, make_duplicate_accounts):
    duplicate, kept = make_duplicate_accounts()
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")

    assert front_desk_client.post(reverse("staff:reenable-account", args=[duplicate.pk])).status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.is_disabled
