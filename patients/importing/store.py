"""Write a batch of records: upserts in chunks, a constant number of queries per few thousand rows.

Patients are matched by MRN, contacts by their EHR identifier or by patient + name + relationship,
appointments by their EHR identifier. Only the EHR's own fields are written: nothing of the
registration app (PINs, accounts, accesses, statuses) is touched. What the audit trail keeps of it is
collected in `Store.changes`, for the caller to audit in the same transaction.
"""

from collections.abc import Callable, Iterable, Iterator

from patients import names
from patients.bulk_insert import insert, update
from patients.importing import records as r
from patients.importing.report import Change, ChangeKind
from patients.importing.restriction_orders import restriction_orders_find
from patients.models import Appointment, FamilyContact, Patient, PatientContact

CHUNK = 2000


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    def __init__(self, batch: r.Batch, *, progress: Callable[[int, int], None]):
        self.batch = batch
        self.progress = progress
        self.changes: list[Change] = []  # every record added or changed that the audit trail keeps
        self.done = 0
        self.total = len(batch.patients) + len(batch.contacts) + len(batch.appointments)
        self.patient_ids: dict[tuple[str, str], int] = {}  # (MRN system, MRN) -> id
        self.patient_ids_by_source: dict[str, int] = {}
        self.contact_ids_by_position: dict[str, int] = {}  # each contact record's contact, once saved

    def count(self, kind: str, outcome: str, n: int = 1) -> None:
        self.batch.tally(kind, outcome, n)

    def advance(self, n: int) -> None:
        self.done += n
        self.progress(self.done, self.total)

    def write(self) -> None:
        self.patients()
        consents = [c for c in self.batch.consents if c.in_force]
        self.resolve_patients(self.batch.contacts + self.batch.appointments + consents)
        self.contacts()
        self.appointments()
        restriction_orders_find(
            self.batch, patient_id=self.patient_id, contact_ids_by_position=self.contact_ids_by_position
        )

    # ------------------------------------------------------------------ patients

    def patients(self) -> None:
        fields = ["first_name", "last_name", "date_of_birth", "sex", "active", "deceased", "deceased_on"]
        for chunk in chunks(self.batch.patients):
            existing = self._patients_existing(chunk, ["source_id", "mrn_system", "merged_into_id", *fields])
            new, changed = [], []
            for rec in chunk:
                if (merged := existing.get(rec.key)) is not None and merged.merged_into_id:
                    # Writing to a chart the EHR merged away would bring it back: refused, for the sender
                    # to send again under the surviving chart's MRN.
                    self.batch.reject("patients", rec.position, self._merged_reason(merged))
                    continue
                wanted = {
                    "first_name": rec.first_name,
                    "last_name": rec.last_name,
                    "date_of_birth": rec.date_of_birth,
                    "sex": rec.sex,
                    "active": rec.active,
                    "deceased": rec.deceased,
                    "deceased_on": rec.deceased_on,
                }
                patient = existing.get(rec.key)
                for kept in rec.keeps if patient else ():  # what the record does not say stays as stored
                    wanted[kept] = getattr(patient, kept)
                if patient is None:
                    new.append(
                        {
                            "mrn": rec.mrn,
                            "mrn_system": rec.mrn_system,
                            "source_id": rec.source_id,
                            "search_name": names.search_name(rec.first_name, rec.last_name),
                            "sort_name": names.sort_name(rec.first_name, rec.last_name),
                            **wanted,
                        }
                    )
                    continue
                # A chart imported from a CSV (no system) is adopted by the first file that names one.
                wanted["mrn_system"] = rec.mrn_system or patient.mrn_system
                if rec.source_id:
                    wanted["source_id"] = rec.source_id
                moved = {
                    f: [str(getattr(patient, f)), str(v)]
                    for f, v in wanted.items()
                    if getattr(patient, f) != v
                }
                if moved:
                    for f, v in wanted.items():
                        setattr(patient, f, v)
                    patient.names_fold()
                    changed.append(patient)
                    self.changes.append(Change(ChangeKind.PATIENT_UPDATED, patient.pk, changed=moved))
                else:
                    self.count("patients", "unchanged")
                self.patient_ids[rec.key] = patient.pk
            ids = insert(Patient, new, ids=True)
            update(Patient, changed, [*fields, "mrn_system", "source_id", "search_name", "sort_name"])
            self.patient_ids.update(
                ((row["mrn_system"], row["mrn"]), pk) for row, pk in zip(new, ids, strict=True)
            )
            self.changes += [Change(ChangeKind.PATIENT_CREATED, pk) for pk in ids]
            self.count("patients", "created", len(new))
            self.count("patients", "updated", len(changed))
            self.advance(len(chunk))

    def _merged_reason(self, patient: Patient) -> str:
        survivor = Patient.objects.filter(pk=patient.merged_into_id).values_list("mrn", flat=True).first()
        return f"MRN {patient.mrn} was merged into MRN {survivor}: send its records under that MRN"

    def _patients_existing(self, chunk: list, fields: list[str]) -> dict[tuple[str, str], Patient]:
        """Stored patients by (system, MRN); one stored without a system answers for any system."""
        found: dict[tuple[str, str], Patient] = {}
        blank: dict[str, Patient] = {}
        by_mrn: dict[str, list[Patient]] = {}
        for patient in Patient.objects.filter(mrn__in_list=[rec.mrn for rec in chunk]).only(
            "id", "mrn", *fields
        ):
            found[p_key(patient)] = patient
            by_mrn.setdefault(patient.mrn, []).append(patient)
            if not patient.mrn_system:
                blank[patient.mrn] = patient
        for rec in chunk:
            if rec.key in found:
                continue
            if rec.mrn in blank:
                found[rec.key] = blank[rec.mrn]
            elif not rec.mrn_system and len(by_mrn.get(rec.mrn, [])) == 1:
                # A record naming no system (an HL7 v2 message) is the one chart with its MRN.
                found[rec.key] = by_mrn[rec.mrn][0]
        return found

    def resolve_patients(self, records: Iterable) -> None:
        """Find the ids of patients the file names but did not give (imported earlier).

        A record naming an MRN without its system (a CSV, an HL7 v2 message) finds the one patient
        with that MRN, whatever assigned it; two such patients are ambiguous and found by neither.
        """
        keys = {p_key(rec) for rec in records if rec.mrn and p_key(rec) not in self.patient_ids}
        for chunk in chunks(sorted({mrn for _, mrn in keys})):
            by_mrn: dict[str, list[tuple[tuple[str, str], int]]] = {}
            for system, mrn, pk in Patient.objects.filter(mrn__in_list=chunk, merged_into=None).values_list(
                "mrn_system", "mrn", "id"
            ):
                self.patient_ids.setdefault((system, mrn), pk)
                by_mrn.setdefault(mrn, []).append(((system, mrn), pk))
            for system, mrn in keys:
                stored = by_mrn.get(mrn, [])
                if (system, mrn) in self.patient_ids or len(stored) != 1:
                    continue
                (stored_system, _), pk = stored[0]
                if not system or not stored_system:
                    self.patient_ids[(system, mrn)] = pk
        sources = sorted({rec.patient_source_id for rec in records if rec.patient_source_id})
        for chunk in chunks(sources):
            found: dict[str, list[int]] = {}
            charts = Patient.objects.filter(source_id__in_list=chunk, merged_into=None)
            for source_id, pk in charts.values_list("source_id", "id"):
                found.setdefault(source_id, []).append(pk)
            self.patient_ids_by_source.update((s, ids[0]) for s, ids in found.items() if len(ids) == 1)

    def patient_id(self, rec, kind: str) -> int | None:
        pk = (
            self.patient_ids.get(p_key(rec))
            if rec.mrn
            else self.patient_ids_by_source.get(rec.patient_source_id)
        )
        if pk is None:
            named = f"MRN {rec.mrn}" if rec.mrn else f"Patient/{rec.patient_source_id}"
            self.batch.reject(kind, rec.position, f"no patient with {named} in this file or already imported")
        return pk

    # ------------------------------------------------------------------ contacts and links

    def contacts(self) -> None:
        todo = [
            (rec, pk) for rec in self.batch.contacts if (pk := self.patient_id(rec, "contacts")) is not None
        ]
        if not todo:
            return
        by_source: dict[str, int] = {}
        sources = sorted({rec.source_id for rec, _ in todo if rec.source_id})
        for chunk in chunks(sources):
            by_source.update(FamilyContact.objects.with_source_ids(chunk).values_list("source_id", "id"))
        links: dict[tuple, int] = {}  # (patient, FIRST, LAST, relationship) -> contact id
        # (patient, contact) -> (link id, relationship, valid_from, valid_until)
        link_rows: dict[tuple[int, int], tuple] = {}
        for chunk in chunks(sorted({pk for _, pk in todo})):
            for link_id, pid, cid, rel, first, last, since, until in PatientContact.objects.filter(
                patient__pk__in_list=chunk
            ).values_list(
                "id",
                "patient_id",
                "contact_id",
                "relationship",
                "contact__first_name",
                "contact__last_name",
                "valid_from",
                "valid_until",
            ):
                links.setdefault((pid, first.upper(), last.upper(), rel), cid)
                link_rows[(pid, cid)] = (link_id, rel, since, until)

        # Which contact each record is: one stored already, or a new one shared by the records with
        # the same key (a parent of siblings appears once per child).
        resolved: dict[tuple, int] = {}
        matched: list[int | None] = []
        for rec, pid in todo:
            cid = by_source.get(rec.source_id) if rec.source_id else None
            if cid is None:
                cid = links.get((pid, rec.first_name.upper(), rec.last_name.upper(), rec.relationship))
            matched.append(cid)
            if cid is not None:
                resolved.setdefault(share_key(rec), cid)
        targets: list[int | tuple] = []  # a contact id, or the key of a new contact
        for (rec, _), cid in zip(todo, matched, strict=True):
            key = share_key(rec)
            targets.append(cid if cid is not None else resolved.get(key, key))

        # Existing contacts: apply every record (later rows win) and save what changed. Compared as
        # stored values (E.164 strings), not models: a second import of 200,000 unchanged contacts
        # built and parsed 600,000 phone numbers only to find them equal.
        existing_ids = sorted({t for t in targets if isinstance(t, int)})
        before: dict[int, dict] = {}
        for chunk in chunks(existing_ids):
            for row in FamilyContact.objects.filter(pk__in_list=chunk).values("id", *CONTACT_FIELDS):
                before[row.pop("id")] = {name: str(value or "") for name, value in row.items()}
        after = {pk: dict(values) for pk, values in before.items()}
        new: dict[tuple, dict] = {}  # the values of each new contact
        first_patient: dict[int | tuple, int] = {}
        for (rec, pid), target in zip(todo, targets, strict=True):
            (after[target] if isinstance(target, int) else new.setdefault(target, {})).update(given(rec))
            first_patient.setdefault(target, pid)
        changed = []
        for pk, values in after.items():
            if values == before[pk]:
                self.count("contacts", "unchanged")
                continue
            changed.append(FamilyContact(pk=pk, **values))
            moved = {f: [before[pk][f], values[f]] for f in PHONE_AND_EMAIL if before[pk][f] != values[f]}
            if moved:
                self.changes.append(
                    Change(ChangeKind.CONTACT_UPDATED, first_patient[pk], contact_id=pk, changed=moved)
                )
        new_ids = dict(zip(new, insert(FamilyContact, list(new.values()), ids=True), strict=True))
        update(FamilyContact, changed, CONTACT_FIELDS)
        self.count("contacts", "created", len(new))
        self.count("contacts", "updated", len(changed))

        # Links: one per patient and contact; the relationship, and the period where a RelatedPerson
        # gives one (or says there is none), follow the EHR.
        new_links, changed_links, seen = [], [], set()
        for (rec, pid), target in zip(todo, targets, strict=True):
            cid = target if isinstance(target, int) else new_ids[target]
            self.contact_ids_by_position[rec.position] = cid
            if (pid, cid) in seen:
                continue
            seen.add((pid, cid))
            stored = link_rows.get((pid, cid))
            wanted = {"relationship": rec.relationship}
            if rec.period_given:
                wanted |= {"valid_from": rec.valid_from, "valid_until": rec.valid_until}
                self.batch.link_periods.append(
                    r.LinkPeriod(pid, cid, rec.relationship, rec.valid_from, rec.valid_until)
                )
            if stored is None:
                new_links.append({"patient_id": pid, "contact_id": cid, **wanted})
            elif any(stored[LINK_COLUMNS.index(f)] != v for f, v in wanted.items()):
                changed_links.append(
                    PatientContact(
                        id=stored[0],
                        relationship=rec.relationship,
                        valid_from=wanted.get("valid_from", stored[2]),
                        valid_until=wanted.get("valid_until", stored[3]),
                    )
                )
            else:
                self.count("links", "unchanged")
        insert(PatientContact, new_links)
        self.changes += [
            Change(ChangeKind.CONTACT_ADDED, link["patient_id"], contact_id=link["contact_id"])
            for link in new_links
        ]
        update(PatientContact, changed_links, ["relationship", "valid_from", "valid_until"])
        self.count("links", "created", len(new_links))
        self.count("links", "updated", len(changed_links))
        self.advance(len(self.batch.contacts))

    # ------------------------------------------------------------------ appointments

    def appointments(self) -> None:
        fields = ["patient_id", "starts_at", "provider", "visit_type", "status"]
        records: dict[str, tuple] = {}
        for rec in self.batch.appointments:
            pid = self.patient_id(rec, "appointments")
            if pid is None:
                continue
            if rec.source_id in records:
                self.batch.reject(
                    "appointments",
                    rec.position,
                    f"appointment {rec.source_id} is also on {records[rec.source_id][0].position}",
                )
                continue
            records[rec.source_id] = (rec, pid)
        for chunk in chunks(list(records.values())):
            existing = {
                a.source_id: a
                for a in Appointment.objects.with_source_ids([rec.source_id for rec, _ in chunk]).only(
                    "id", "source_id", *fields
                )
            }
            new, changed = [], []
            for rec, pid in chunk:
                wanted = {
                    "patient_id": pid,
                    "starts_at": rec.starts_at,
                    "provider": rec.provider,
                    "visit_type": rec.visit_type,
                    "status": rec.status,
                }
                appointment = existing.get(rec.source_id)
                if not rec.status:  # the source did not say: keep what is stored ("arrived" stays)
                    wanted["status"] = (
                        appointment.status if appointment else Appointment.Status.SCHEDULED.value
                    )
                if appointment is None:
                    new.append({"source_id": rec.source_id, **wanted})
                elif any(getattr(appointment, f) != v for f, v in wanted.items()):
                    for f, v in wanted.items():
                        setattr(appointment, f, v)
                    changed.append(appointment)
                else:
                    self.count("appointments", "unchanged")
            insert(Appointment, new)
            update(Appointment, changed, fields)
            self.count("appointments", "created", len(new))
            self.count("appointments", "updated", len(changed))
            self.advance(len(chunk))


CONTACT_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "cell_phone",
    "home_phone",
    "work_phone",
    "preferred_language",
    "source_id",
]
PHONE_AND_EMAIL = ("email", "cell_phone", "home_phone", "work_phone")
LINK_COLUMNS = ("id", "relationship", "valid_from", "valid_until")  # a stored link's tuple, in order


def p_key(item) -> tuple[str, str]:
    """(MRN system, MRN) of a stored patient or of a record naming one."""
    return (item.mrn_system, item.mrn)


def share_key(rec: r.ContactRecord) -> tuple:
    """Return what makes two rows one person: the EHR's id, else name with an email or phone."""
    if rec.source_id:
        return ("id", rec.source_id)
    if rec.email or rec.cell_phone or rec.home_phone:
        return (
            "person",
            rec.first_name.upper(),
            rec.last_name.upper(),
            rec.email.lower(),
            rec.cell_phone or rec.home_phone,
        )
    return ("row", rec.position)


def given(rec: r.ContactRecord) -> dict[str, str]:
    """Return the fields a record sets: a blank email, phone or language leaves the stored one."""
    values = {"first_name": rec.first_name, "last_name": rec.last_name}
    for name in (*PHONE_AND_EMAIL, "preferred_language", "source_id"):
        if value := getattr(rec, name):
            values[name] = value
    return values
