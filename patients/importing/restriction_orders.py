"""Which stored patient and family contact each FHIR Consent's deny names, for registration to record.

Nothing is written here: a restriction is registration's (it is audited, and it ends the person's PINs
and accesses), so the store only finds the rows and leaves `RestrictionOrder`s on the batch.
"""

from collections.abc import Callable

from patients.importing import records as r
from patients.models import FamilyContact, PatientContact


def restriction_orders_find(
    batch: r.Batch, *, patient_id: Callable, contact_ids_by_position: dict[str, int]
) -> None:
    """Resolve each Consent of the batch to (patient, contact) pairs on `batch.restriction_orders`.

    A deny whose person was not imported, or is not on the Consent's patient's chart, rejects its
    Consent. A Consent whose every deny was found, or that is no longer in force, is `settled`:
    registration may then lift what an earlier import recorded from it that this one no longer says.
    """
    consents = batch.consents
    if not consents:  # most files, and every HL7 message
        return
    identifiers = sorted({d.contact_source_id for c in consents for d in c.denies if d.contact_source_id})
    by_source = dict(FamilyContact.objects.with_source_ids(identifiers).values_list("source_id", "id"))
    found: list[tuple[r.ConsentRecord, int | None, list]] = []
    for consent in consents:
        if not consent.in_force:
            found.append((consent, None, []))
            continue
        pid = patient_id(consent, "restrictions")
        if pid is None:
            continue
        contacts = []
        for deny in consent.denies:
            cid = (
                contact_ids_by_position.get(deny.contact_position)
                if deny.contact_position
                else by_source.get(deny.contact_source_id)
            )
            if cid is None:
                batch.reject(
                    "restrictions",
                    consent.position,
                    f"{deny.actor} was not imported: no family contact to restrict",
                )
                break
            contacts.append((deny, cid))
        else:
            found.append((consent, pid, contacts))
    pairs = {(pid, cid) for _, pid, contacts in found for _, cid in contacts}
    on_chart = (
        set(
            PatientContact.objects.filter(
                patient_id__in={p for p, _ in pairs}, contact_id__in={c for _, c in pairs}
            ).values_list("patient_id", "contact_id")
        )
        if pairs
        else set()
    )
    for consent, pid, contacts in found:
        missing = next((deny for deny, cid in contacts if (pid, cid) not in on_chart), None)
        if missing is not None:
            batch.reject(
                "restrictions",
                consent.position,
                f"{missing.actor} is not on the chart of the Consent's patient",
            )
            continue
        batch.settled_consents.append(consent)
        batch.restriction_orders += [
            r.RestrictionOrder(
                consent, consent.restriction_source_id(deny), pid, cid, deny.starts_on, deny.ends_on
            )
            for deny, cid in contacts
        ]
