"""Restrictions and guardianship ends as the EHR sends them (FHIR Consent, RelatedPerson.period).

Called by the EHR import inside its one transaction (a dry run rolls everything back), so these are
not durable: each takes the locks `restriction_create` takes, in its order (the restriction, the
patient, the chart link, then the child's PINs), and audits what it changes with the import's file.
Nobody signs an import's restriction: `created_by` and `lifted_by` are None.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from patients.models import Patient, PatientContact
from registration.models import AccessRestriction, AuditEvent, PortalAccess
from registration.services.audit import audit_record
from registration.services.restrictions import restriction_enforce

IMPORT_NOTE = "Recorded from the EHR (FHIR Consent)."


@dataclass(frozen=True)
class ImportedRestriction:
    """What the EHR says of one person and child: the restriction to record or update."""

    source_id: str
    patient_id: int
    contact_id: int
    basis: str
    starts_on: date
    ends_on: date | None


def restriction_import_upsert(*, wanted: ImportedRestriction, now: datetime, file_name: str) -> str:
    """Record the EHR's restriction, or bring the one an earlier import recorded up to date; return
    "created", "updated", "unchanged", "lifted" (staff or the EHR lifted it: not recorded again) or
    "other_person" (the Consent now names someone else: refused, staff decide), or "patient_self" (the
    patient's own link: never restricted).

    In effect today, it ends the person's live PINs and accesses to the child now (`restriction_enforce`);
    a later first day is left to the daily task (`restrictions_take_effect`).
    """
    _in_transaction()
    restriction = (
        AccessRestriction.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(source_id=wanted.source_id)
        .first()
    )
    if restriction is not None and restriction.lifted_at is not None:
        return "lifted"
    if restriction is not None and (restriction.patient_id, restriction.contact_id) != (
        wanted.patient_id,
        wanted.contact_id,
    ):
        return "other_person"
    if _patient_and_link_lock(wanted.patient_id, wanted.contact_id) == PatientContact.Relationship.SELF:
        return "patient_self"
    terms = {"basis": wanted.basis, "starts_on": wanted.starts_on, "ends_on": wanted.ends_on}
    if restriction is None:
        restriction = AccessRestriction.objects.create(
            patient_id=wanted.patient_id,
            contact_id=wanted.contact_id,
            note=IMPORT_NOTE,
            created_by=None,
            created_at=now,
            source_id=wanted.source_id,
            **terms,
        )
        outcome, details = "created", {}
    else:
        changed = {
            f: [_text(getattr(restriction, f)), _text(v)]
            for f, v in terms.items()
            if getattr(restriction, f) != v
        }
        if not changed:
            return "unchanged"
        for field, value in terms.items():
            setattr(restriction, field, value)
        restriction.save(update_fields=list(terms))
        outcome, details = "updated", {"changed": changed}
    # RESTRICTION_CREATED for an update too (with what changed): the trail has no "restriction changed",
    # and an import's update is the EHR recording the restriction anew.
    audit_record(
        action=AuditEvent.Action.RESTRICTION_CREATED,
        at=now,
        actor=None,
        patient_id=restriction.patient_id,
        contact_id=restriction.contact_id,
        details={**_described(restriction), **details, "file": file_name[:200]},
    )
    if restriction.enforced_at is None and restriction.in_effect_on(timezone.localdate(now)):
        restriction_enforce(restriction, actor=None, now=now)
    return outcome


def restriction_import_lift(
    *, consent_source_id: str, keep: set[str], reason: str, now: datetime, file_name: str
) -> int:
    """Lift the restrictions an earlier import recorded from a Consent (`consent_source_id`, or one of its
    people: "<id>#<person>") other than `keep`; return how many. Ended accesses stay ended."""
    _in_transaction()
    family = Q(source_id=consent_source_id) | Q(source_id__startswith=f"{consent_source_id}#")
    lifted = 0
    for restriction in (
        AccessRestriction.objects.select_for_update()
        .filter(family, lifted_at__isnull=True)
        .exclude(source_id__in=keep)
        .order_by("pk")
    ):
        restriction.lifted_at, restriction.lifted_by, restriction.lift_reason = now, None, reason[:500]
        restriction.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        audit_record(
            action=AuditEvent.Action.RESTRICTION_LIFTED,
            at=now,
            actor=None,
            patient_id=restriction.patient_id,
            contact_id=restriction.contact_id,
            details={
                "restriction_id": restriction.pk,
                "reason": restriction.lift_reason,
                "file": file_name[:200],
            },
        )
        lifted += 1
    return lifted


def guardianship_ends_import(*, ends: list[tuple[int, int, date]], now: datetime, file_name: str) -> int:
    """Give the live accesses held through a legal guardian's chart link the guardianship's last day
    (patient id, contact id, last day, from RelatedPerson.period.end); return how many changed.

    The daily task ends an access after its `ends_on`. A guardianship the EHR gives no end leaves an
    access's end as it is: a blank never erases.
    """
    _in_transaction()
    last_day = {(pid, cid): day for pid, cid, day in ends}
    changed = 0
    pairs = sorted(last_day)
    for start in range(0, len(pairs), 1000):
        chunk = pairs[start : start + 1000]
        match = Q(pk__in=[])
        for pid, cid in chunk:
            match |= Q(patient_id=pid, contact_id=cid)
        for access in PortalAccess.objects.select_for_update(of=("self",)).filter(match).order_by("pk"):
            day = last_day[(access.patient_id, access.contact_id)]
            if access.ends_on == day:
                continue
            before, access.ends_on = access.ends_on, day
            access.save(update_fields=["ends_on"])
            audit_record(
                action=AuditEvent.Action.ACCESS_BASIS_CHANGED,
                at=now,
                actor=None,
                patient_id=access.patient_id,
                contact_id=access.contact_id,
                account_id=access.account_id,
                details={
                    "access_id": access.pk,
                    "basis": access.basis,
                    "ends_on": [_text(before), _text(day)],
                    "why": "guardianship's end from the EHR (RelatedPerson.period)",
                    "file": file_name[:200],
                },
            )
            changed += 1
    return changed


def _patient_and_link_lock(patient_id: int, contact_id: int) -> str | None:
    """Lock in restriction_create's order (patient, then the chart link), so PIN issue cannot deadlock
    with it; return the link's relationship."""
    Patient.objects.select_for_update(no_key=True).filter(pk=patient_id).values_list("pk").first()
    return (
        PatientContact.objects.select_for_update()
        .filter(patient_id=patient_id, contact_id=contact_id)
        .values_list("relationship", flat=True)
        .first()
    )


def _in_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Call this inside the import's transaction, with the records it acts on.")


def _text(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def _described(restriction: AccessRestriction) -> dict:
    return {
        "restriction_id": restriction.pk,
        "basis": restriction.basis,
        "starts_on": restriction.starts_on.isoformat(),
        "ends_on": _text(restriction.ends_on) or None,
        "source_id": restriction.source_id,
    }
