"""Today's and tomorrow's clinic: a full appointment list, filled provider slot by provider slot.

A slot is a provider at a start time. A day already holding its share of appointments is left alone,
so a second run on the same day adds nothing; on a new day, the new today is filled.
"""

from datetime import date, datetime, time, timedelta
from math import ceil
from random import Random

from patients.models import Appointment, Patient
from registration.demo import schedule
from registration.demo.chance import Weighted, seeded
from registration.demo.families import mrn

_DONE = Weighted({Appointment.Status.COMPLETED: 92, Appointment.Status.NO_SHOW: 8})
SHOWCASE_ON_LIST = 10  # visible demo patients put on each day's list, to show their portal states


def appointments_wanted(patient_total: int) -> int:
    """A busy day: about 300 appointments for 100,000 patients, never fewer than 15."""
    return min(300, max(15, patient_total // 330))


def day_fill(day: date, wanted: int, *, patient_total: int, showcase_patients: int, now: datetime) -> int:
    """Book free slots on `day` until it holds `wanted` appointments; return how many were booked."""
    start, end = schedule.moment(day, time.min), schedule.moment(day + timedelta(days=1), time.min)
    existing = list(
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end).values_list(
            "provider", "starts_at", "patient_id"
        )
    )
    missing = wanted - len(existing)
    if missing <= 0:
        return 0
    rng = seeded("day", day.isoformat())
    taken = {(provider, starts_at) for provider, starts_at, _ in existing}
    slots = [slot for slot in _slots(rng, day, wanted) if slot not in taken][:missing]
    booked = {patient_id for _, _, patient_id in existing}
    patients = _patients(rng, len(slots) + len(booked), patient_total, showcase_patients)
    patients = [p for p in patients if p.pk not in booked]

    rows = [
        Appointment(
            patient=patient,
            starts_at=starts_at,
            provider=provider,
            visit_type=schedule.visit_type_for(rng, patient.date_of_birth, day),
            status=_status(rng, starts_at, now),
        )
        for (provider, starts_at), patient in zip(slots, patients, strict=False)
    ]
    Appointment.objects.bulk_create(rows)
    return len(rows)


def _slots(rng: Random, day: date, wanted: int) -> list[tuple[str, datetime]]:
    """Every slot of enough providers for `wanted` appointments (with a few gaps), shuffled."""
    providers = schedule.PROVIDERS[: max(3, min(len(schedule.PROVIDERS), ceil(wanted / 30)))]
    slots = [(p, schedule.moment(day, t)) for p in providers for t in schedule.CLINIC_SLOTS]
    rng.shuffle(slots)
    return slots


def _patients(rng: Random, count: int, patient_total: int, showcase_patients: int) -> list[Patient]:
    """`count` different patients, some from the visible demo first."""
    showcase = rng.sample(range(showcase_patients), min(SHOWCASE_ON_LIST, showcase_patients, count))
    others = rng.sample(range(patient_total), min(patient_total, count))
    numbers = list(dict.fromkeys([*showcase, *others]))[:count]
    by_mrn = {
        p.mrn: p
        for p in Patient.objects.filter(mrn__in=[mrn(n) for n in numbers]).only("pk", "date_of_birth", "mrn")
    }
    return [by_mrn[mrn(n)] for n in numbers if mrn(n) in by_mrn]


def _status(rng: Random, starts_at: datetime, now: datetime) -> str:
    if starts_at > now:
        return Appointment.Status.SCHEDULED
    if now - starts_at < timedelta(minutes=40):
        return Appointment.Status.ARRIVED
    return _DONE.draw(rng)
