"""ADT A40 and SIU through the socket: a merge hands the surviving chart its family, visits, PINs and
accounts; scheduling messages keep the dashboard's list the EHR's list."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Appointment, Patient, PatientContact
from registration.models import AuditEvent, PortalAccess
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import pin_issue
from tests.factories import (
    AppointmentFactory,
    NewAccountFactory,
    PatientContactFactory,
    PatientFactory,
    StaffFactory,
)
from tests.hl7 import messages as m

pytestmark = pytest.mark.django_db(transaction=True)
BORN = dt.date(2019, 5, 4)
DAY = dt.date(2031, 3, 12)  # a fixed day; times are at noon there, in the practice's time zone


def local_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


# ------------------------------------------------------------------------------------ A40


@pytest.fixture
def two_charts(staff, make_portal_account):
    """Sofía's chart and the duplicate the EHR will merge into it: the duplicate has the father, who has
    an account, a grandmother with a PIN not yet used, and a visit."""
    survivor = PatientFactory(mrn="MP-4001", first_name="Sofía", last_name="López", date_of_birth=BORN)
    merged = PatientFactory(mrn="MP-4002", first_name="Sofia", last_name="Lopez", date_of_birth=BORN)
    mother = PatientContactFactory(patient=survivor, contact__last_name="López")
    father = PatientContactFactory(
        patient=merged, contact__last_name="Muñoz", relationship=PatientContact.Relationship.FATHER
    )
    grandmother = PatientContactFactory(
        patient=merged, contact__last_name="Peña", relationship=PatientContact.Relationship.GRANDPARENT
    )
    account = make_portal_account(father)
    issued = pin_issue(patient=merged, contact=grandmother.contact, path="chart", by=staff)
    visit = AppointmentFactory(patient=merged, starts_at=local_noon(DAY))
    return {
        "survivor": survivor,
        "merged": merged,
        "mother": mother.contact,
        "father": father.contact,
        "grandmother": grandmother.contact,
        "account": account,
        "pin": issued,
        "visit": visit,
    }


def test_a_merge_hands_the_survivor_the_family_visits_pins_and_accounts(feed, two_charts):
    survivor, merged = two_charts["survivor"], two_charts["merged"]
    control = m.control_id()

    ack = feed.ack(m.a40(control, mrn="MP-4001", prior_mrn="MP-4002"))

    assert (ack.code, ack.control_id, ack.errors) == ("AA", control, [])
    merged.refresh_from_db()
    assert (merged.active, merged.merged_into_id) == (False, survivor.pk)
    assert set(survivor.contact_links.values_list("contact_id", flat=True)) == {
        two_charts["mother"].pk,
        two_charts["father"].pk,
        two_charts["grandmother"].pk,
    }
    assert not merged.contact_links.exists()
    assert Appointment.objects.get(pk=two_charts["visit"].pk).patient_id == survivor.pk
    # The father's account sees the surviving chart, as the same person.
    access = PortalAccess.objects.get(account=two_charts["account"])
    assert (access.patient_id, access.contact_id) == (survivor.pk, two_charts["father"].pk)
    # The grandmother's slip, printed for the duplicate, registers her to the surviving chart.
    redeemed = pin_redeem(code=two_charts["pin"].code, child_birth_date=BORN, new_account=NewAccountFactory())
    assert (redeemed.patient_id, redeemed.contact_id) == (survivor.pk, two_charts["grandmother"].pk)
    merges = AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_MERGED)
    assert set(merges.values_list("patient_id", flat=True)) == {survivor.pk, merged.pk}
    assert all(event.details["hl7"] == control for event in merges)


def test_a_merge_sent_again_is_applied_once(feed, two_charts):
    control = m.control_id()
    feed.ack(m.a40(control, mrn="MP-4001", prior_mrn="MP-4002"))
    merges = AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_MERGED).count()

    again = feed.ack(m.a40(control, mrn="MP-4001", prior_mrn="MP-4002"))
    # The EHR may also send the same merge under a new control id: nothing more to do.
    resent = feed.ack(m.a40(m.control_id(), mrn="MP-4001", prior_mrn="MP-4002"))

    assert (again.code, resent.code) == ("AA", "AA")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.PATIENT_MERGED).count() == merges == 2


def test_after_a_merge_the_merged_mrn_is_refused_and_the_surviving_one_applied(feed, two_charts):
    feed.ack(m.a40(m.control_id(), mrn="MP-4001", prior_mrn="MP-4002"))

    late = feed.ack(m.adt("A08", m.control_id(), mrn="MP-4002", first="Sofia", last="Lopez"))
    current = feed.ack(m.adt("A08", m.control_id(), mrn="MP-4001"))

    assert (late.code, current.code) == ("AE", "AA")
    assert Patient.objects.get(mrn="MP-4002").merged_into_id == two_charts["survivor"].pk


def test_merging_a_chart_into_itself_is_refused(feed, two_charts):
    ack = feed.ack(m.a40(m.control_id(), mrn="MP-4001", prior_mrn="MP-4001"))

    assert ack.code == "AE"
    assert ack.error_codes == {"204"}
    assert Patient.objects.get(mrn="MP-4001").merged_into_id is None


def test_a_merge_of_an_unknown_chart_is_applied_with_a_warning(feed):
    ack = feed.ack(m.a40(m.control_id(), mrn="MP-4003", prior_mrn="MP-9999"))

    assert ack.code == "AA"
    assert "MP-9999" in ack.errors[0] and "|W|" in ack.errors[0]
    assert Patient.objects.filter(mrn="MP-4003").exists()


# ------------------------------------------------------------------------------------ SIU


@pytest.fixture
def dashboard(client):
    """The front desk's appointment list for a day, as HTML."""
    client.force_login(StaffFactory())

    def read(day: dt.date) -> str:
        response = client.get(reverse("staff:dashboard"), {"day": day.isoformat()})
        assert response.status_code == 200
        return response.content.decode()

    return read


def listed(html: str, appointment: Appointment) -> bool:
    return reverse("staff:appointment", args=[appointment.pk]) in html


def test_scheduling_messages_move_the_appointment_and_the_dashboard_follows(feed, dashboard):
    later = DAY + dt.timedelta(days=1)
    visit = {"mrn": "MP-5001", "appointment_id": "APPT-5001"}

    booked = feed.ack(m.siu("S12", m.control_id(), starts=local_noon(DAY), **visit))

    assert booked.code == "AA"
    appointment = Appointment.objects.get(source_id="APPT-5001")
    assert (appointment.starts_at, appointment.status) == (local_noon(DAY), "scheduled")
    assert (appointment.provider, appointment.visit_type) == ("Dr. Ana Patel", "Well child check")
    assert appointment.patient.mrn == "MP-5001"
    assert listed(dashboard(DAY), appointment)
    assert "López, Sofía" in dashboard(DAY)

    moved = feed.ack(m.siu("S13", m.control_id(), starts=local_noon(later), **visit))

    assert moved.code == "AA"
    appointment.refresh_from_db()
    assert appointment.starts_at == local_noon(later)
    assert not listed(dashboard(DAY), appointment)
    assert listed(dashboard(later), appointment)

    no_show = feed.ack(
        m.siu("S26", m.control_id(), starts=local_noon(later), filler_status="Noshow", **visit)
    )

    assert no_show.code == "AA"
    appointment.refresh_from_db()
    assert appointment.status == "no_show"
    assert listed(dashboard(later), appointment)  # a missed visit stays on that day's list

    cancelled = feed.ack(
        m.siu("S15", m.control_id(), starts=local_noon(later), filler_status="Cancelled", **visit)
    )

    assert cancelled.code == "AA"
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert not listed(dashboard(later), appointment)
    assert Appointment.objects.count() == 1  # one visit throughout, followed by its EHR id


def test_a_modification_that_does_not_say_the_status_keeps_arrived(feed):
    """S14 with SCH-25 "Started" marks the child arrived; a later S14 changing only the provider keeps it."""
    visit = {"mrn": "MP-5004", "appointment_id": "APPT-5004", "starts": local_noon(DAY)}
    feed.ack(m.siu("S12", m.control_id(), **visit))
    assert feed.ack(m.siu("S14", m.control_id(), filler_status="Started", **visit)).code == "AA"
    assert Appointment.objects.get(source_id="APPT-5004").status == "arrived"

    ack = feed.ack(m.siu("S14", m.control_id(), filler_status="", provider="5678^Ruiz^Elena^^^Dr.", **visit))

    assert ack.code == "AA"
    appointment = Appointment.objects.get(source_id="APPT-5004")
    assert (appointment.status, appointment.provider) == ("arrived", "Dr. Elena Ruiz")


def test_a_scheduling_message_does_not_overwrite_the_chart_the_adt_feed_keeps(feed):
    feed.ack(m.adt("A08", m.control_id(), mrn="MP-5002", first="Sofía", last="López"))

    ack = feed.ack(
        m.siu(
            "S12",
            m.control_id(),
            mrn="MP-5002",
            appointment_id="APPT-5002",
            starts=local_noon(DAY),
            first="SOFIA",
            last="LOPEZ",
        )
    )

    assert ack.code == "AA"
    patient = Patient.objects.get(mrn="MP-5002")
    assert (patient.first_name, patient.last_name) == ("Sofía", "López")
    assert patient.appointments.get().source_id == "APPT-5002"


def test_a_start_time_with_an_offset_is_that_instant(feed):
    """A start with an offset is that instant, whatever the practice's time zone."""
    visit = {"mrn": "MP-5003", "appointment_id": "APPT-5003", "starts": "203103121200-0500"}
    message = m.siu("S12", m.control_id(), **visit)

    ack = feed.ack(message)

    assert ack.code == "AA"
    starts = Appointment.objects.get(source_id="APPT-5003").starts_at
    assert starts == dt.datetime(2031, 3, 12, 17, 0, tzinfo=dt.UTC)
