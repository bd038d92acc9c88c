"""A chart the EHR merged into another (HL7 ADT A40): the surviving chart takes the family contacts,
appointments, PINs, accesses and restrictions of both, and the merged chart stays, inactive, for its
history.

Called inside the feed's transaction. The locks are taken in the order every access change takes them
(patients, chart links, the children's live PINs, then accesses), so a merge cannot deadlock with a PIN
being issued or redeemed, or with a restriction being recorded, on either chart.
"""

from dataclasses import asdict, dataclass
from datetime import datetime

from django.utils import timezone

from patients.models import Appointment, Patient, PatientContact
from registration.models import (
    AccessRestriction,
    AgeMilestone,
    AuditEvent,
    ParentLevelChoice,
    Pin,
    PortalAccess,
)
from registration.selectors import pins_live
from registration.selectors.access import restrictions_in_effect
from registration.services.access_ends import access_end, pins_end
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError
from registration.services.restrictions import restriction_enforce
from registration.statistics.tallies import statuses_refresh


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge did. "Moved" counts the rows now on the surviving chart, ended ones included (the
    history moves too); "ended" counts those the merge itself ended, with the reason MERGED."""

    already: bool  # the merged chart was already merged into the survivor: nothing done
    links_moved: int = 0  # family contacts moved onto the survivor
    links_kept: int = 0  # contacts the survivor had already: its link kept, the merged chart's dropped
    appointments_moved: int = 0
    pins_moved: int = 0
    pins_ended: int = 0
    accesses_moved: int = 0
    accesses_ended: int = 0
    restrictions_moved: int = 0


class MergeRefused(RegistrationError):
    """The merge cannot be applied as sent; the message says what the EHR's staff should check."""


def patient_merge(*, survivor: Patient, merged: Patient, now: datetime, details: dict) -> MergeOutcome:
    """Merge the chart `merged` into `survivor`, within the caller's transaction; `details` (the
    message's control id) goes into every audit event written here.

    A live PIN of the merged chart keeps working on the survivor, unless the survivor has a live PIN for
    the same person (one per person and child) or another birth date (the parent proves the child with
    the date on the slip): then it is ended, with the reason MERGED. An account that sees both charts
    keeps its access to the survivor; the other is ended. Restrictions of either chart are enforced on
    what the survivor now holds. Merging the same pair again does nothing.
    """
    if survivor.pk == merged.pk:
        raise MergeRefused("The chart to merge and the surviving chart are the same chart.")
    # Both charts locked as they are now, lower id first, so two merges of one pair cannot deadlock.
    locked = {
        patient.pk: patient
        for patient in Patient.objects.select_for_update(no_key=True)
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if merged.merged_into_id == survivor.pk:
        return MergeOutcome(already=True)
    if merged.merged_into_id is not None:
        raise MergeRefused(
            f"Chart {merged.mrn} was already merged into chart {merged.merged_into.mrn}, not {survivor.mrn}."
        )
    if survivor.merged_into_id is not None:
        raise MergeRefused(
            f"The surviving chart {survivor.mrn} was itself merged into chart {survivor.merged_into.mrn}."
        )
    both = [survivor.pk, merged.pk]
    list(PatientContact.objects.select_for_update().filter(patient_id__in=both).order_by("pk").values("pk"))
    list(pins_live(Pin.objects.filter(patient_id__in=both)).select_for_update().order_by("pk").values("pk"))
    list(PortalAccess.history.select_for_update().filter(patient_id__in=both).order_by("pk").values("pk"))

    counts = _links_move(survivor, merged)
    counts["appointments_moved"] = Appointment.objects.filter(patient=merged).update(patient=survivor)
    pins, live_pin_moved = _pins_move(survivor, merged, now=now, details=details)
    accesses, live_access_moved = _accesses_move(survivor, merged, now=now, details=details)
    counts |= pins | accesses
    counts["restrictions_moved"] = _restrictions_move(
        survivor, merged, now=now, enforce_all=live_pin_moved or live_access_moved
    )
    _choices_move(survivor, merged)
    statuses_refresh(both)

    # Charts merged into this one earlier point at the survivor now: a banner links to a chart in use,
    # and the survivor's history (which reads charts merged into it) includes theirs.
    earlier = list(merged.merged_charts.values_list("pk", flat=True))
    Patient.objects.filter(pk__in=earlier).update(merged_into=survivor)
    merged.active, merged.merged_into = False, survivor
    merged.save(update_fields=["active", "merged_into"])

    outcome = MergeOutcome(already=False, **counts)
    said = {
        **details,
        "survivor_patient_id": survivor.pk,
        "survivor_mrn": survivor.mrn,
        "merged_patient_id": merged.pk,
        "merged_mrn": merged.mrn,
        "earlier_merged_patient_ids": earlier,
        **{name: value for name, value in asdict(outcome).items() if name != "already"},
    }
    for patient in (merged, survivor):
        audit_record(
            action=AuditEvent.Action.PATIENT_MERGED, at=now, actor=None, patient=patient, details=said
        )
    return outcome


def _links_move(survivor: Patient, merged: Patient) -> dict[str, int]:
    # A contact on both charts keeps the survivor's link (the EHR's surviving record says how they are
    # related); the merged chart's copy is deleted rather than left behind, so the merged chart lists
    # nobody and no contact is on two charts that are one child. PINs and accesses name the contact,
    # not the link, so no history is lost; the audit event lists how many were kept.
    on_survivor = PatientContact.objects.filter(patient=survivor).values("contact_id")
    kept = PatientContact.objects.filter(patient=merged, contact_id__in=on_survivor)
    links_kept = kept.count()
    kept.delete()
    links_moved = PatientContact.objects.filter(patient=merged).update(patient=survivor)
    return {"links_moved": links_moved, "links_kept": links_kept}


def _pins_move(
    survivor: Patient, merged: Patient, *, now: datetime, details: dict
) -> tuple[dict[str, int], bool]:
    """Move every PIN of the merged chart, ending those that may not stay live; return the counts, and
    whether a live PIN moved."""
    live = pins_live(Pin.objects.filter(patient=merged))
    if merged.date_of_birth != survivor.date_of_birth:
        # The slip's PIN is proved with the merged chart's birth date, which no longer names the child.
        ending = live
    else:
        ending = live.filter(
            contact_id__in=pins_live(Pin.objects.filter(patient=survivor)).values("contact_id")
        )
    ended = pins_end(
        ending,
        reason=Pin.EndReason.MERGED,
        now=now,
        patient_id=survivor.pk,
        details={**details, "merged_patient_id": merged.pk, "merged_mrn": merged.mrn},
    )
    live_moved = live.exclude(pk__in=ended).exists()
    moved = Pin.objects.filter(patient=merged).update(patient=survivor)
    return {"pins_moved": moved, "pins_ended": len(ended)}, live_moved


def _accesses_move(
    survivor: Patient, merged: Patient, *, now: datetime, details: dict
) -> tuple[dict[str, int], bool]:
    """Move every access of the merged chart, ending an account's second live one; return the counts,
    and whether a live access moved."""
    seeing_survivor = PortalAccess.objects.filter(patient=survivor).values("account_id")
    ending = list(PortalAccess.objects.filter(patient=merged, account_id__in=seeing_survivor).order_by("pk"))
    for access in ending:
        access_end(
            access,
            reason=PortalAccess.EndReason.MERGED,
            now=now,
            patient_id=survivor.pk,
            details={**details, "merged_patient_id": merged.pk, "merged_mrn": merged.mrn},
        )
    live_moved = PortalAccess.objects.filter(patient=merged).exists()
    moved = PortalAccess.history.filter(patient=merged).update(patient=survivor)
    return {"accesses_moved": moved, "accesses_ended": len(ending)}, live_moved


def _restrictions_move(survivor: Patient, merged: Patient, *, now: datetime, enforce_all: bool) -> int:
    """Move the merged chart's restrictions and enforce, on the survivor, each in effect today that was
    moved, and the survivor's own too when a live PIN or access came with the merge: a person kept from
    either chart must not keep the child through the other's PIN or access. One starting later is left
    to the daily task, which finds it on the survivor."""
    moved_ids = list(AccessRestriction.objects.filter(patient=merged).values_list("pk", flat=True))
    AccessRestriction.objects.filter(pk__in=moved_ids).update(patient=survivor)
    in_effect = restrictions_in_effect(timezone.localdate(now)).filter(patient=survivor)
    if not enforce_all:
        in_effect = in_effect.filter(pk__in=moved_ids)
    for restriction in in_effect.select_related("contact").order_by("pk"):
        restriction_enforce(restriction, actor=None, now=now)
    return len(moved_ids)


def _choices_move(survivor: Patient, merged: Patient) -> None:
    # The teen's choice for their parents: the survivor's stands; the merged chart's applies only when the
    # survivor has none (the daily task reads it for the accesses that moved).
    if not ParentLevelChoice.objects.filter(patient=survivor).exists():
        ParentLevelChoice.objects.filter(patient=merged).update(patient=survivor)
    # Birthdays already told or applied move where the survivor has no row for that birthday, so parents
    # are not told twice; a clash keeps the survivor's row and leaves the merged chart's as its history.
    # A milestone of another birth date never matches the survivor's birthdays and changes nothing.
    taken = set(AgeMilestone.objects.filter(patient=survivor).values_list("kind", "due_on"))
    for milestone in AgeMilestone.objects.filter(patient=merged):
        if (milestone.kind, milestone.due_on) not in taken:
            milestone.patient = survivor
            milestone.save(update_fields=["patient"])
