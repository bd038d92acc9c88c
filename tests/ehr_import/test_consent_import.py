"""Restrictions and guardianship from the EHR: FHIR Consent deny provisions, RelatedPerson.period.

docs/samples/consent_bundle.json: Ava Moreno (C7001) with her mother Lucia, her father Daniel (denied
by a court-order Consent), her guardian Rosa Vidal (guardianship until 2031-05-08) and her former
stepfather Mark Ellis (relationship ended 2024-08-31); a permit Consent for Lucia and an
entered-in-error one.
"""

import copy
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.utils import timezone

from patients.models import PatientContact
from registration.ehr_import.importing import import_file
from registration.models import AccessRestriction, AuditEvent, Pin, PortalAccess
from registration.services.errors import RelationshipEnded
from registration.services.pin_redemption import pin_redeem
from registration.services.restrictions import restrictions_take_effect
from tests.factories import NewAccountFactory

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "consent_bundle.json"
COURT_ORDER_ID = "urn:oid:1.2.3.4.consent|CN-9001"

pytestmark = pytest.mark.django_db


def bundle() -> dict:
    return json.loads(SAMPLE.read_text())


def run(data: dict, *, dry_run: bool = False):
    return import_file(io.BytesIO(json.dumps(data).encode()), name="consents.json", dry_run=dry_run)


def without_consents(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["entry"] = [e for e in data["entry"] if e["resource"]["resourceType"] != "Consent"]
    return data


def consent(data: dict, consent_id: str) -> dict:
    return next(e["resource"] for e in data["entry"] if e["resource"].get("id") == consent_id)


def link(first_name: str) -> PatientContact:
    return PatientContact.objects.select_related("patient", "contact").get(contact__first_name=first_name)


def redeemed(issue_pin, first_name: str) -> PortalAccess:
    issued = issue_pin(link(first_name))
    return pin_redeem(
        code=issued.code, child_birth_date=issued.pin.patient.date_of_birth, new_account=NewAccountFactory()
    )


def test_the_sample_records_the_court_order_and_the_relationship_periods():
    report = run(bundle())

    assert report.problems == []
    assert report.counts["restrictions"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report.skipped == {
        "Consent (no deny for a family contact)": 1,
        "Consent (entered-in-error, nothing recorded from it)": 1,
    }
    restriction = AccessRestriction.objects.get()
    assert (restriction.contact.first_name, restriction.patient.mrn) == ("Daniel", "C7001")
    assert restriction.basis == AccessRestriction.Basis.COURT_ORDER
    assert (restriction.starts_on, restriction.ends_on) == (dt.date(2025, 2, 3), None)
    assert restriction.source_id == COURT_ORDER_ID
    assert restriction.created_by is None and restriction.enforced_at is not None
    created = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_CREATED)
    assert created.actor is None and created.details["file"] == "consents.json"
    assert (link("Rosa").valid_from, link("Rosa").valid_until) == (dt.date(2023, 1, 16), dt.date(2031, 5, 8))
    assert link("Mark").valid_until == dt.date(2024, 8, 31), "an ended relationship is still imported"
    assert (link("Lucia").valid_from, link("Lucia").valid_until) == (None, None)
    assert any("relationship ended on 2024-08-31" in w.reason for w in report.warnings)


def test_importing_twice_records_one_restriction_and_changes_nothing_the_second_time():
    run(bundle())
    events = AuditEvent.objects.count()

    again = run(bundle())

    assert again.counts["restrictions"] == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 0}
    assert again.counts["links"]["updated"] == 0
    assert AccessRestriction.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_a_dry_run_reports_the_restriction_and_saves_nothing():
    report = run(bundle(), dry_run=True)

    assert report.counts["restrictions"]["created"] == 1
    assert not AccessRestriction.objects.exists()


def test_a_deny_consent_ends_the_parents_redeemed_access(issue_pin):
    run(without_consents(bundle()))
    access = redeemed(issue_pin, "Daniel")

    run(bundle())

    access = PortalAccess.history.get(pk=access.pk)
    assert access.ended_at is not None and access.end_reason == PortalAccess.EndReason.RESTRICTED
    assert not PortalAccess.objects.filter(contact__first_name="Daniel").exists()
    ended = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_ENDED)
    assert ended.details["access_id"] == access.pk and ended.actor is None


def test_a_deny_consent_revokes_the_parents_live_pin(issue_pin):
    run(without_consents(bundle()))
    pin = issue_pin(link("Daniel")).pin
    lucias = issue_pin(link("Lucia")).pin

    run(bundle())

    pin.refresh_from_db()
    lucias.refresh_from_db()
    assert pin.revoked_at is not None and pin.end_reason == Pin.EndReason.RESTRICTED
    assert lucias.revoked_at is None, "the permitted mother's PIN stays live"
    enforced = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_ENFORCED)
    assert enforced.details["revoked_pin_ids"] == [pin.pk]


def test_a_consent_whose_period_starts_later_takes_effect_on_its_first_day(issue_pin):
    run(without_consents(bundle()))
    pin = issue_pin(link("Daniel")).pin
    first_day = timezone.localdate() + dt.timedelta(days=10)
    data = bundle()
    consent(data, "cn-9001")["provision"]["provision"][0]["period"] = {"start": first_day.isoformat()}

    run(data)

    restriction = AccessRestriction.objects.get()
    assert restriction.starts_on == first_day and restriction.enforced_at is None
    pin.refresh_from_db()
    assert pin.revoked_at is None, "not in effect yet"
    assert restrictions_take_effect(day=first_day - dt.timedelta(days=1)) == 0
    assert restrictions_take_effect(day=first_day) == 1
    pin.refresh_from_db()
    assert pin.revoked_at is not None and pin.end_reason == Pin.EndReason.RESTRICTED


def test_a_changed_period_updates_the_imported_restriction_and_is_audited():
    run(bundle())
    data = bundle()
    consent(data, "cn-9001")["provision"]["provision"][0]["period"] = {
        "start": "2025-02-03",
        "end": "2027-02-02",
    }

    report = run(data)

    assert report.counts["restrictions"]["updated"] == 1
    restriction = AccessRestriction.objects.get()
    assert restriction.ends_on == dt.date(2027, 2, 2)
    update = AuditEvent.objects.filter(action=AuditEvent.Action.RESTRICTION_CREATED).latest("pk")
    assert update.details["changed"] == {"ends_on": ["", "2027-02-02"]}


def test_a_permit_consent_is_ignored():
    data = without_consents(bundle())
    permit = copy.deepcopy(consent(bundle(), "cn-9001"))
    permit["provision"]["provision"][0]["type"] = "permit"
    data["entry"].append({"resource": permit})

    report = run(data)

    assert not AccessRestriction.objects.exists()
    assert report.skipped == {"Consent (no deny for a family contact)": 1}
    assert "restrictions" not in report.counts


def test_an_entered_in_error_consent_lifts_the_imported_restriction(issue_pin):
    run(bundle())
    data = bundle()
    consent(data, "cn-9001")["status"] = "entered-in-error"

    report = run(data)

    restriction = AccessRestriction.objects.get()
    assert restriction.lifted_at is not None and restriction.lifted_by is None
    assert restriction.lift_reason == "The EHR's Consent is entered-in-error."
    assert report.counts["restrictions"]["updated"] == 1
    lifted = AuditEvent.objects.get(action=AuditEvent.Action.RESTRICTION_LIFTED)
    assert lifted.details["restriction_id"] == restriction.pk
    assert issue_pin(link("Daniel")).pin.revoked_at is None, "Daniel may be given a PIN again"
    assert run(data).counts.get("restrictions") is None, "lifted once"


def test_a_restriction_lifted_in_the_portal_is_not_recorded_again():
    run(bundle())
    AccessRestriction.objects.update(lifted_at=timezone.now(), lift_reason="order vacated")

    report = run(bundle())

    assert report.counts["restrictions"]["unchanged"] == 1
    assert AccessRestriction.objects.get().lifted_at is not None
    assert any("lifted in the portal" in w.reason for w in report.warnings)


def test_a_pin_is_refused_to_a_person_whose_relationship_ended(issue_pin):
    run(bundle())

    with pytest.raises(RelationshipEnded) as refused:
        issue_pin(link("Mark"))

    assert str(refused.value) == "This person's relationship to the child ended on 08/31/2024, per the EHR."
    assert not Pin.objects.filter(contact__first_name="Mark").exists()


def test_a_guardianships_end_becomes_the_last_day_of_the_guardians_access(issue_pin):
    run(bundle())
    access = redeemed(issue_pin, "Rosa")
    assert access.ends_on is None
    data = bundle()
    rosa = next(e["resource"] for e in data["entry"] if e["resource"].get("id") == "rosa")
    rosa["period"]["end"] = "2030-09-30"

    run(data)

    access.refresh_from_db()
    assert access.ends_on == dt.date(2030, 9, 30)
    assert link("Rosa").valid_until == dt.date(2030, 9, 30)
    changed = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_BASIS_CHANGED)
    assert changed.details["ends_on"] == ["", "2030-09-30"] and changed.details["access_id"] == access.pk
    run(data)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_BASIS_CHANGED).count() == 1


def test_r5_shapes_and_the_basis_mapping():
    """R5: `subject` and `decision`; several people in one deny; a protective order; no basis named."""
    data = without_consents(bundle())
    data["entry"] += [
        {
            "resource": {
                "resourceType": "Consent",
                "id": "r5-deny",
                "status": "active",
                "subject": {"reference": "Patient/ava"},
                "date": "2026-01-10",
                "decision": "deny",
                "category": [{"text": "Order of protection"}],
                "provision": [
                    {
                        "actor": [
                            {"reference": {"reference": "RelatedPerson/daniel"}},
                            {"reference": {"reference": "https://ehr.example.org/fhir/RelatedPerson/mark"}},
                            {"reference": {"reference": "Practitioner/f204"}},
                        ]
                    }
                ],
            }
        },
        {
            "resource": {
                "resourceType": "Consent",
                "id": "no-basis",
                "status": "active",
                "patient": {"reference": "Patient/ava"},
                "provision": {"type": "deny", "actor": [{"reference": {"reference": "RelatedPerson/lucia"}}]},
            }
        },
    ]

    report = run(data)

    assert report.problems == []
    by_person = {r.contact.first_name: r for r in AccessRestriction.objects.select_related("contact")}
    assert set(by_person) == {"Daniel", "Mark", "Lucia"}
    assert by_person["Daniel"].source_id == "Consent/r5-deny#RelatedPerson/daniel"
    assert by_person["Daniel"].basis == AccessRestriction.Basis.PROTECTIVE_ORDER
    assert by_person["Daniel"].starts_on == dt.date(2026, 1, 10)
    assert by_person["Lucia"].basis == AccessRestriction.Basis.PATIENT_REQUEST
    assert by_person["Lucia"].starts_on == timezone.localdate(), "no date at all: from the import's day"
    assert any("recorded as a patient request" in w.reason for w in report.warnings)
    assert any("starts on the day of the import" in w.reason for w in report.warnings)


def test_a_consent_naming_a_related_person_not_in_the_file_is_rejected():
    run(bundle())
    data = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": consent(bundle(), "cn-9001")}],
    }
    consent(data, "cn-9001")["provision"]["provision"][0]["actor"][0]["reference"] = {
        "reference": "RelatedPerson/unknown"
    }

    report = run(data)

    assert report.counts["restrictions"]["rejected"] == 1
    assert "RelatedPerson/unknown is not a RelatedPerson imported from this file" in report.problems[0].reason


def test_a_consent_may_name_a_contact_imported_earlier_by_identifier():
    run(without_consents(bundle()))
    deny = consent(bundle(), "cn-9001")
    deny["provision"]["provision"][0]["actor"][0]["reference"] = {
        "type": "RelatedPerson",
        "identifier": {"system": "urn:oid:1.2.3.4.contact", "value": "RP-802"},
    }
    deny["patient"] = {"identifier": {"system": "urn:oid:1.2.3.4.mrn", "value": "C7001"}}

    report = run({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": deny}]})

    assert report.problems == []
    assert AccessRestriction.objects.get().contact.first_name == "Daniel"


def test_a_nested_provision_without_a_type_is_the_exception_and_a_draft_is_not_in_force():
    """R5: under `decision: deny`, a nested provision permits; a draft Consent records nothing."""
    data = without_consents(bundle())
    actor = [{"reference": {"reference": "RelatedPerson/daniel"}}]
    data["entry"] += [
        {
            "resource": {
                "resourceType": "Consent",
                "id": "exception",
                "status": "active",
                "subject": {"reference": "Patient/ava"},
                "decision": "deny",
                "period": {"start": "2026-01-10", "end": "2026-12-31"},
                "provision": [
                    {
                        "actor": [{"reference": {"reference": "RelatedPerson/mark"}}],
                        "provision": [{"actor": actor}],
                    }
                ],
            }
        },
        {
            "resource": {
                "resourceType": "Consent",
                "id": "draft",
                "status": "draft",
                "patient": {"reference": "Patient/ava"},
                "provision": {"type": "deny", "actor": actor},
            }
        },
    ]

    report = run(data)

    restriction = AccessRestriction.objects.get()
    assert restriction.contact.first_name == "Mark", "Daniel is the nested exception: permitted"
    assert (restriction.starts_on, restriction.ends_on) == (dt.date(2026, 1, 10), dt.date(2026, 12, 31))
    assert any("status 'draft' is not in force" in w.reason for w in report.warnings)
