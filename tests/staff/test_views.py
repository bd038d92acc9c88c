"""Each staff form calls one service and shows its refusal as a form error."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from registration.models import AuditEvent, Pin, PortalAccess, SelfRegistrationRequest, WelcomeMessage
from registration.selectors import patient_portal_status
from registration.services.accounts import NewAccount
from registration.services.pins import pin_issue
from registration.services.self_registration import ChildDetails, self_registration_authenticate
from registration.services.welcome_invites import welcome_invite
from tests.factories import (
    AppointmentFactory,
    FamilyContactFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    confirmed_self_registration,
)

PIN_PATTERN = re.compile(rb'id="issued-pin"[^>]*>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<')


def generate(client, link, token="t1", **extra):
    url = reverse("staff:pin-generate", args=[link.patient.pk, link.contact.pk])
    return client.post(url, {"path": "chart", "form_token": token, **extra})


def sign_up(email, child_first, child_last, dob, phone=""):
    return confirmed_self_registration(
        children=[ChildDetails(child_first, child_last, dob)],
        new_account=NewAccount(
            email=email, password="x" * 16, first_name="Pat", last_name=child_last, cell_phone=phone
        ),
    )[0]


@pytest.mark.django_db
def test_generate_pin_shows_it_once_and_never_again(front_desk_client):
    link = PatientContactFactory()
    first = generate(front_desk_client, link)
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"] or "no-cache" in first["Cache-Control"]
    code = PIN_PATTERN.search(first.content).group(1).decode()
    assert patient_portal_status(link.patient) == "pending"
    # The same form sent again (a reload, or Back then resubmit) shows no PIN and issues none.
    again = generate(front_desk_client, link)
    assert b'id="issued-pin"' not in again.content
    assert b"shown once" in again.content
    assert Pin.objects.count() == 1
    assert code.encode() not in again.content


@pytest.mark.django_db
def test_printable_slip_has_portal_address_expiry_and_qr(front_desk_client, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.org"
    response = generate(front_desk_client, PatientContactFactory())
    html = response.content.decode()
    assert 'class="slip"' in html
    assert "https://portal.example.org/portal/pin/" in html
    assert "<svg" in html  # the QR code
    assert "css/print.css" in html


@pytest.mark.django_db
def test_generate_pin_from_the_appointment_window_records_that_path(front_desk_client):
    link = PatientContactFactory()
    appointment = AppointmentFactory(patient=link.patient)
    generate(front_desk_client, link, path="appointment_window", appointment=appointment.pk)
    pin = Pin.objects.get()
    assert (pin.path, pin.appointment) == ("appointment_window", appointment)


@pytest.mark.django_db
def test_duplicate_warning_before_anything_is_issued_then_override_with_reason(front_desk_client):
    link = PatientContactFactory()
    sign_up(link.contact.email.upper(), "Someone", "Else", dt.date(2015, 1, 1))
    warned = generate(front_desk_client, link)
    assert b"Authenticate the request instead" in warned.content
    assert Pin.objects.count() == 0
    issued = generate(front_desk_client, link, duplicate_override_reason="Parent asked for a paper PIN")
    assert b'id="issued-pin"' in issued.content
    event = AuditEvent.objects.get(action="pin_issued")
    assert event.details["duplicate_override"]["reason"] == "Parent asked for a paper PIN"


@pytest.mark.django_db
def test_register_by_text_rejects_a_malformed_number_and_saves_nothing(front_desk_client):
    link = PatientContactFactory()
    before = str(link.contact.cell_phone)
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    events_before = AuditEvent.objects.count()  # the client's sign-in
    response = front_desk_client.post(url, {"contact": link.pk, "channel": "sms", "address": "555-12"})
    assert response.status_code == 200
    assert b"Enter a valid cell phone number" in response.content
    assert not Pin.objects.exists() and not WelcomeMessage.objects.exists()
    assert AuditEvent.objects.count() == events_before
    link.contact.refresh_from_db()
    assert str(link.contact.cell_phone) == before


@pytest.mark.django_db
def test_register_by_email_saves_a_corrected_address_and_shows_pending(front_desk_client):
    link = PatientContactFactory()
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    response = front_desk_client.post(
        url, {"contact": link.pk, "channel": "email", "address": "new@example.org"}
    )
    message = WelcomeMessage.objects.get()
    assert response["Location"] == reverse("staff:welcome-message", args=[message.pk])
    link.contact.refresh_from_db()
    assert link.contact.email == "new@example.org"
    page = front_desk_client.get(response["Location"])
    assert b"Pending" in page.content and b'id="message-status"' in page.content


@pytest.mark.django_db
def test_register_uses_the_address_on_the_chart_when_left_empty(front_desk_client):
    link = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone="+12025550143"))
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    empty_email = front_desk_client.post(url, {"contact": link.pk, "channel": "email", "address": ""})
    assert b"has no email on the chart" in empty_email.content
    front_desk_client.post(url, {"contact": link.pk, "channel": "sms", "address": ""})
    assert WelcomeMessage.objects.get().address == "+12025550143"


@pytest.mark.django_db
def test_resend_issues_a_new_pin_and_the_old_one_stops_working(front_desk_client):
    link = PatientContactFactory()
    url = reverse("staff:welcome-send", args=[link.patient.pk])
    front_desk_client.post(url, {"contact": link.pk, "channel": "email", "address": ""})
    first = WelcomeMessage.objects.get()
    resend = reverse("staff:welcome-resend", args=[first.pk])
    asked = front_desk_client.post(resend)
    assert asked.context["outstanding"] == first.pin, "asked first: a PIN is still out"
    assert WelcomeMessage.objects.count() == 1
    response = front_desk_client.post(resend, {"replace_outstanding": "1"})
    second = WelcomeMessage.objects.exclude(pk=first.pk).get()
    assert response["Location"] == reverse("staff:welcome-message", args=[second.pk])
    first.pin.refresh_from_db()
    assert first.pin.end_reason == Pin.EndReason.SUPERSEDED


@pytest.mark.django_db
def test_register_all_sends_to_reachable_unregistered_patients_and_reports_the_rest(
    front_desk_client, staff, django_capture_on_commit_callbacks
):
    today = timezone.localtime().replace(hour=9, minute=0)
    reachable = [PatientContactFactory() for _ in range(3)]
    unreachable = PatientContactFactory(contact=FamilyContactFactory(email="", cell_phone=""))
    pending = PatientContactFactory()
    pin_issue(patient=pending.patient, contact=pending.contact, path="chart", by=staff)
    for i, link in enumerate([*reachable, unreachable, pending]):
        AppointmentFactory(patient=link.patient, starts_at=today + dt.timedelta(minutes=15 * i))
    AppointmentFactory(patient=reachable[0].patient, starts_at=today + dt.timedelta(hours=3))  # second visit
    with django_capture_on_commit_callbacks(execute=True):
        response = front_desk_client.post(reverse("staff:register-all"), {"day": today.date().isoformat()})
    summary = front_desk_client.get(response["Location"]).context["summary"]
    # One per patient, not per appointment; the pending one untouched.
    assert WelcomeMessage.objects.count() == 3
    assert summary.counts["sent"] + summary.counts["waiting"] == 3
    assert [row.item.patient for row in summary.rows if row.result == "Skipped"] == [unreachable.patient]


@pytest.mark.django_db
def test_reconcile_authenticates_against_a_chart_contact(front_desk_client):
    link = PatientContactFactory()
    request = sign_up(
        link.contact.email, link.patient.first_name, link.patient.last_name, link.patient.date_of_birth
    )
    page = front_desk_client.get(reverse("staff:reconcile", args=[request.pk]))
    assert page.context["candidates"][0].patient == link.patient
    response = front_desk_client.post(
        reverse("staff:authenticate", args=[request.pk]), {"match": f"{link.patient.pk}:{link.contact.pk}"}
    )
    assert response.status_code == 302
    assert PortalAccess.objects.get().account == request.account
    assert patient_portal_status(link.patient) == "registered"


@pytest.mark.django_db
def test_reconcile_can_add_the_parent_as_a_new_contact_but_needs_a_relationship(front_desk_client):
    patient = PatientFactory()
    request = sign_up("new@example.org", patient.first_name, patient.last_name, patient.date_of_birth)
    url = reverse("staff:authenticate", args=[request.pk])
    missing = front_desk_client.post(url, {"match": f"{patient.pk}:new"})
    assert missing.status_code == 400
    assert b"Choose how the parent is related" in missing.content
    front_desk_client.post(url, {"match": f"{patient.pk}:new", "relationship": "father"})
    assert patient.contact_links.get().contact.email == "new@example.org"


@pytest.mark.django_db
def test_decline_needs_a_reason_and_records_it(front_desk_client):
    request = sign_up("x@example.org", "No", "Match", dt.date(2017, 7, 7))
    url = reverse("staff:decline", args=[request.pk])
    assert front_desk_client.post(url, {"reason": "  ", "confirmed": "1"}).status_code == 400
    assert front_desk_client.post(url, {"reason": "other", "note": " ", "confirmed": "1"}).status_code == 400
    front_desk_client.post(url, {"reason": "no_match", "note": "No Match born 7/7/2017.", "confirmed": "1"})
    request.refresh_from_db()
    assert request.status == SelfRegistrationRequest.Status.DECLINED
    assert (request.decline_reason, request.decline_note) == ("no_match", "No Match born 7/7/2017.")


@pytest.mark.django_db
def test_admin_disables_a_duplicate_from_the_suspected_pairs(admin_client, staff):
    link = PatientContactFactory()
    first = sign_up("one@example.org", "A", "B", dt.date(2016, 1, 1), phone="+13125550101")
    second = sign_up("two@example.org", "A", "B", dt.date(2016, 1, 1), phone="+13125550101")
    self_registration_authenticate(request=first, patient=link.patient, contact=link.contact, by=staff)
    page = admin_client.get(reverse("staff:duplicates"))
    assert len(page.context["duplicates"].pairs) == 1
    response = admin_client.post(
        reverse("staff:disable-duplicate"),
        {
            "first": first.account.pk,
            "second": second.account.pk,
            "keep": first.account.pk,
            "reason": "Signed up twice",
            "confirmed": "1",
        },
    )
    assert response.status_code == 302
    second.account.refresh_from_db()
    assert second.account.is_disabled and second.account.merged_into == first.account
    assert admin_client.get(reverse("staff:duplicates")).context["duplicates"].pairs == []


@pytest.mark.django_db
def test_audit_trail_finds_a_patient_by_mrn_or_by_name(admin_client, staff):
    one = PatientContactFactory(patient__first_name="Rowan", patient__last_name="Quill")
    two = PatientContactFactory(patient__first_name="Ada", patient__last_name="Quillon")
    three = PatientContactFactory(patient__first_name="Zoe", patient__last_name="Park")
    for link in (one, two, three):
        pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)

    def patients_shown(text):
        return {
            e.patient for e in admin_client.get(reverse("staff:audit"), {"patient": text}).context["page"]
        }

    assert patients_shown(one.patient.mrn.lower()) == {one.patient}
    assert patients_shown("ro qui") == {one.patient}
    assert patients_shown("quill") == {one.patient, two.patient}
    both = admin_client.get(reverse("staff:audit"), {"patient": "quill"}).content.decode()
    assert "Events of 2 patients" in both and f"?patient={two.patient.mrn}" in both
    unknown = admin_client.get(reverse("staff:audit"), {"patient": "NOPE"})
    assert b"No patient has that name, MRN or date of birth." in unknown.content
    assert list(unknown.context["page"]) == []


@pytest.mark.django_db
def test_audit_trail_names_too_many_patients_as_an_error_to_narrow(admin_client, settings):
    PatientFactory.create_batch(21, last_name="Lee")
    page = admin_client.get(reverse("staff:audit"), {"patient": "lee"})
    assert b"More than 20 patients match: add a first name" in page.content


@pytest.mark.django_db
def test_audit_trail_finds_an_account_or_contact_by_email_in_any_case(admin_client, staff):
    link = PatientContactFactory(contact__email="Dana.Whitfield@example.net")
    other = PatientContactFactory(contact__email="someone@example.org")
    for each in (link, other):
        pin_issue(patient=each.patient, contact=each.contact, path="chart", by=staff)
    page = admin_client.get(reverse("staff:audit"), {"email": "dana.whitfield@EXAMPLE.net "})
    assert {e.contact for e in page.context["page"]} == {link.contact}
    staff_events = admin_client.get(reverse("staff:audit"), {"email": staff.email.upper()})
    assert {e.actor for e in staff_events.context["page"]} == {staff}
    nobody = admin_client.get(reverse("staff:audit"), {"email": "nobody@example.org"})
    assert b"No account, family contact or staff member has that email." in nobody.content


@pytest.mark.django_db
def test_the_chart_shows_every_phone_the_ehr_gave_with_which_one_is_texted(front_desk_client):
    contact = FamilyContactFactory(cell_phone="", home_phone="+12025550143", work_phone="+13015550144")
    link = PatientContactFactory(contact=contact)
    page = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()
    assert '(202) 555-0143 <span class="muted">home</span>' in page
    assert '(301) 555-0144 <span class="muted">work</span>' in page
    assert "no cell" in page


@pytest.mark.django_db
def test_the_chart_history_says_who_did_what_and_what_happened_by_itself(
    front_desk_client, django_capture_on_commit_callbacks
):
    """A welcome message the task worker sent was shown as 'sent … by the parent' (issue 13)."""
    link = PatientContactFactory()
    staff_user = front_desk_client.get(reverse("staff:dashboard")).wsgi_request.user
    with django_capture_on_commit_callbacks(execute=True):
        welcome_invite(
            patient=link.patient,
            contact=link.contact,
            channel=WelcomeMessage.Channel.EMAIL,
            address=link.contact.email,
            by=staff_user,
        )
    page = front_desk_client.get(reverse("staff:patient-chart", args=[link.patient.pk])).content.decode()
    assert "by the parent" not in page
    assert re.search(r"Welcome message sent[^<]*· automatic", page)
    assert f"by {staff_user.get_username()}" in page


@pytest.mark.django_db
def test_reconcile_warns_that_the_contact_already_has_an_account_and_preselects_nothing(
    admin_client, make_portal_account
):
    """Authenticating would give the parent a second account for the admin to disable (issue 13)."""
    link = PatientContactFactory()
    existing = make_portal_account(link)
    [request] = confirmed_self_registration(
        children=[ChildDetails(link.patient.first_name, link.patient.last_name, link.patient.date_of_birth)],
        new_account=NewAccountFactory(),
    )
    page = admin_client.get(reverse("staff:reconcile", args=[request.pk])).content.decode()
    assert f"already has a portal account, {existing.user.email}" in page
    assert not re.search(rf'value="{link.patient.pk}:{link.contact_id}"[^>]*checked', page)
