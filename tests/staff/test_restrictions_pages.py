"""Restrictions from the chart, admins only: recorded (ending the person's PIN and access), lifted, their
document read (audited, never cached); a parent's access kept past majority; and the one-line reason
where staff meet a restricted contact: Generate PIN refused, reconcile."""

import datetime as dt
import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.roles import is_practice_admin
from patients.models import PatientContact
from registration.models import AccessBasis, AccessRestriction, AuditEvent, Pin, PortalAccess
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from registration.services.restrictions import restriction_create
from tests.factories import (
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    StaffFactory,
    admin_user,
    confirmed_self_registration,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.RESTRICTION_DOCUMENT_DIR = tmp_path / "restrictions"


def _text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def _pdf(name="order.pdf", size=None):
    body = b"%PDF-1.4 court order\n%%EOF" if size is None else b"0" * size
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def _family(*, tomas_registered=True):
    """Rosa (registered through her PIN) and Tomas (registered too, or else holding a PIN) on one chart."""
    staff = StaffFactory()
    rosa = PatientContactFactory(contact__first_name="Rosa", contact__last_name="Diaz")
    tomas = PatientContactFactory(
        patient=rosa.patient,
        contact__first_name="Tomas",
        contact__last_name="Diaz",
        relationship=PatientContact.Relationship.FATHER,
    )
    accesses = {}
    for link in (rosa, tomas):
        issued = pin_issue(patient=link.patient, contact=link.contact, path="chart", by=staff)
        if link is rosa or tomas_registered:
            accesses[link.contact.first_name] = pin_redeem(
                code=issued.code, child_birth_date=link.patient.date_of_birth, new_account=NewAccountFactory()
            )
    return rosa, tomas, accesses


def _create_url(link):
    return reverse("staff:restriction-new", args=[link.patient_id, link.contact_id])


def _form(link, **fields):
    prefix = f"restrict-{link.contact_id}"
    data = {"basis": "court_order", "starts_on": timezone.localdate().isoformat(), "note": "Order 24-FC-118"}
    data |= fields
    return {f"{prefix}-{key}": value for key, value in data.items()}


def test_recording_a_restriction_on_the_chart_ends_the_persons_pins_and_access(admin_client):
    _rosa, tomas, accesses = _family()

    response = admin_client.post(_create_url(tomas), _form(tomas, document=_pdf()), follow=True)

    assert response.redirect_chain[-1][0].endswith(f"/staff/patients/{tomas.patient_id}/#access")
    page = _text(response)
    assert f"Recorded: Tomas Diaz may not be given access to {tomas.patient.full_name}." in page
    restriction = AccessRestriction.objects.get(contact=tomas.contact)
    assert restriction.basis == "court_order" and restriction.note == "Order 24-FC-118"
    assert restriction.document.name.endswith(".pdf") and restriction.enforced_at is not None
    # Tomas's access ended, with the reason; his unused PIN revoked; Rosa keeps hers.
    ended = PortalAccess.history.get(pk=accesses["Tomas"].pk)
    assert ended.ended_at is not None and ended.end_reason == PortalAccess.EndReason.RESTRICTED
    assert not PortalAccess.objects.filter(pk=accesses["Tomas"].pk).exists()
    assert PortalAccess.objects.filter(pk=accesses["Rosa"].pk).exists()
    # The chart now says why instead of offering Generate PIN.
    assert f"Restricted by court order since {timezone.localdate():%m/%d/%Y}" in page
    assert "Generate PIN for Tomas Diaz" not in page and "Generate PIN for Rosa Diaz" not in page  # she's in


def test_recording_a_restriction_revokes_the_persons_pin(admin_client):
    _rosa, tomas, _ = _family(tomas_registered=False)
    assert Pin.objects.filter(contact=tomas.contact, redeemed_at=None, revoked_at=None).count() == 1

    assert admin_client.post(_create_url(tomas), _form(tomas)).status_code == 302

    assert not Pin.objects.filter(contact=tomas.contact, redeemed_at=None, revoked_at=None).exists()
    assert Pin.objects.get(contact=tomas.contact).end_reason == Pin.EndReason.RESTRICTED


def test_a_restriction_with_its_last_day_before_its_first_is_shown_again_with_the_reason(admin_client):
    _rosa, tomas, accesses = _family()

    response = admin_client.post(
        _create_url(tomas), _form(tomas, starts_on="2026-03-02", ends_on="2026-03-01")
    )

    assert response.status_code == 400
    assert "The last day of the restriction cannot be before its first day." in _text(response)
    assert not AccessRestriction.objects.exists()
    assert PortalAccess.objects.filter(pk=accesses["Tomas"].pk).exists()


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (_pdf("order.docx"), "Attach the order as a PDF or a picture"),
        (_pdf("order.pdf", size=10_000_001), "The document is too large"),
    ],
)
def test_only_a_pdf_or_picture_up_to_10_mb_is_taken(admin_client, document, error):
    _rosa, tomas, _accesses = _family()

    response = admin_client.post(_create_url(tomas), _form(tomas, document=document))

    assert response.status_code == 400 and error in _text(response)
    assert not AccessRestriction.objects.exists()


def test_a_contact_not_on_this_chart_cannot_be_restricted_from_it(admin_client):
    rosa, _tomas, _ = _family()
    stranger = PatientContactFactory()
    url = reverse("staff:restriction-new", args=[rosa.patient_id, stranger.contact_id])
    assert admin_client.post(url, _form(stranger)).status_code == 404


def _restricted(link, *, document=None):
    return restriction_create(
        patient=link.patient,
        contact=link.contact,
        basis=AccessRestriction.Basis.COURT_ORDER,
        starts_on=dt.date(2026, 3, 2),
        by=admin_user(),
        document=document,
    )


def test_front_desk_cannot_record_lift_read_or_keep(front_desk_client):
    rosa, tomas, accesses = _family()
    restriction = _restricted(tomas, document=_pdf())
    refused = [
        front_desk_client.get(_create_url(rosa)),
        front_desk_client.post(_create_url(rosa), _form(rosa)),
        front_desk_client.post(
            reverse("staff:restriction-lift", args=[restriction.pk]), {f"lift-{restriction.pk}-reason": "x"}
        ),
        front_desk_client.get(reverse("staff:restriction-document", args=[restriction.pk])),
        front_desk_client.post(
            reverse("staff:access-basis", args=[accesses["Rosa"].pk]),
            {f"basis-{accesses['Rosa'].pk}-basis": "guardian", f"basis-{accesses['Rosa'].pk}-note": "x"},
        ),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert AccessRestriction.objects.get().lifted_at is None
    assert AccessRestriction.objects.count() == 1
    assert PortalAccess.objects.get(pk=accesses["Rosa"].pk).basis == AccessBasis.PARENT
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_DOCUMENT_READ).exists()


def test_lifting_from_the_chart_needs_a_reason_and_is_audited(admin_client):
    _rosa, tomas, _ = _family()
    restriction = _restricted(tomas)
    url = reverse("staff:restriction-lift", args=[restriction.pk])

    empty = _text(admin_client.post(url, {f"lift-{restriction.pk}-reason": " "}, follow=True))
    assert "Say why the restriction is lifted" in empty
    assert AccessRestriction.objects.get().lifted_at is None

    page = _text(admin_client.post(url, {f"lift-{restriction.pk}-reason": "Order vacated"}, follow=True))
    assert "Lifted the restriction on Tomas Diaz." in page
    lifted = AccessRestriction.objects.get()
    assert lifted.lifted_at is not None and lifted.lift_reason == "Order vacated"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_LIFTED).count() == 1
    assert "Generate PIN for Tomas Diaz" in page  # may be given access again


def test_the_document_downloads_for_an_admin_uncached_and_audited(admin_client):
    _rosa, tomas, _ = _family()
    restriction = _restricted(tomas, document=_pdf())

    response = admin_client.get(reverse("staff:restriction-document", args=[restriction.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 court order\n%%EOF"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_DOCUMENT_READ)
    assert is_practice_admin(event.actor)
    assert event.patient_id == tomas.patient_id and event.contact_id == tomas.contact_id
    assert event.details["restriction_id"] == restriction.pk


def test_a_restriction_without_a_document_has_none_to_download(admin_client):
    _rosa, tomas, _ = _family()
    restriction = _restricted(tomas)
    response = admin_client.get(reverse("staff:restriction-document", args=[restriction.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_DOCUMENT_READ).exists()


def test_keeping_a_parents_access_past_majority_from_the_chart(admin_client):
    _rosa, _tomas, accesses = _family()
    access = accesses["Rosa"]
    url = reverse("staff:access-basis", args=[access.pk])

    page = _text(
        admin_client.post(
            url,
            {f"basis-{access.pk}-basis": "adult_consent", f"basis-{access.pk}-note": "Signed 11/30"},
            follow=True,
        )
    )

    assert "Rosa Diaz's access now continues past the patient's majority." in page
    assert PortalAccess.objects.get(pk=access.pk).basis == AccessBasis.ADULT_CONSENT
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_BASIS_CHANGED)
    assert event.details["note"] == "Signed 11/30"


def test_generate_pin_for_a_restricted_contact_is_refused_with_the_reason(front_desk_client):
    _rosa, tomas, _ = _family()
    _restricted(tomas)

    response = front_desk_client.post(
        reverse("staff:pin-generate", args=[tomas.patient_id, tomas.contact_id]),
        {"path": "chart", "form_token": "t" * 32},
    )

    assert response.status_code == 409
    assert (
        "Tomas Diaz may not be given access to this child: Restricted by court order since 03/02/2026."
        in (_text(response))
    )


@pytest.fixture
def asked_by_tomas():
    """Tomas, restricted, signs up afresh for the child; Rosa is on the chart too."""
    rosa, tomas, _ = _family()
    _restricted(tomas)
    patient = tomas.patient
    [request] = confirmed_self_registration(
        children=[
            ChildDetailsFactory(
                first_name=patient.first_name,
                last_name=patient.last_name,
                date_of_birth=patient.date_of_birth,
            )
        ],
        new_account=NewAccountFactory(email="tomas.new@example.net", first_name="Tomas", last_name="Diaz"),
    )
    return request, rosa, tomas


def test_reconcile_shows_a_restricted_contact_with_the_reason_and_no_choice(
    front_desk_client, asked_by_tomas
):
    request, rosa, tomas = asked_by_tomas

    page = _text(front_desk_client.get(reverse("staff:reconcile", args=[request.pk])))

    assert (
        f"Not offered: {tomas.patient.full_name} as Tomas Diaz, Father. Restricted by court order since"
        in page
    )
    assert f'value="{tomas.patient_id}:{tomas.contact_id}"' not in page
    assert f'value="{rosa.patient_id}:{rosa.contact_id}"' in page
    # Tomas has an account already, but no offer to add the child to it.
    assert f'name="match" value="{tomas.patient_id}:{tomas.contact_id}"' not in page


def test_reconcile_refusal_shows_the_reason(front_desk_client, asked_by_tomas):
    request, _rosa, tomas = asked_by_tomas

    response = front_desk_client.post(
        reverse("staff:authenticate", args=[request.pk]),
        {"match": f"{tomas.patient_id}:new", "relationship": "father"},
    )

    assert response.status_code == 400
    assert (
        "Tomas Diaz may not be given access to this child: Restricted by court order since 03/02/2026."
        in (_text(response))
    )
    assert not PortalAccess.objects.filter(account=request.account).exists()


@pytest.mark.django_db
def test_register_by_email_or_text_does_not_offer_a_restricted_contact(admin_client, admin):
    _, tomas, _ = _family(tomas_registered=False)
    restriction_create(
        patient=tomas.patient,
        contact=tomas.contact,
        basis=AccessRestriction.Basis.PROTECTIVE_ORDER,
        starts_on=timezone.localdate(),
        by=admin,
    )
    page = _text(admin_client.get(reverse("staff:welcome-send", args=[tomas.patient.pk])))
    assert "Rosa Diaz" in page and "Tomas Diaz" not in page
    refused = admin_client.post(
        reverse("staff:welcome-send", args=[tomas.patient.pk]),
        {"contact": tomas.pk, "channel": "email", "address": tomas.contact.email},
    )
    assert refused.status_code == 200 and "Select a valid choice" in _text(refused)  # the form's own error
    assert not Pin.objects.filter(contact=tomas.contact, revoked_at=None).exists()
