"""The registration counts, kept as they change: the services refresh the patients they touch, the
Statistics page reads the counters at a moment, and a periodic full recount checks and repairs them.

A patient's portal status depends on its live accesses and PINs (`registration.selectors.portal_status`).
Each service that changes them calls `statuses_refresh` for those patients in its own transaction: the
patients' `StatusMark` rows are locked (so two transactions changing one patient count it once), their
status is read again, and what changed is added to the counters. Counters are rows added, never updated
(no row every transaction waits on); `tallies_compact` folds them together, as the snapshot task does.

PINs run out by the clock, not by a service: the hourly counters say when each patient stops being
Pending and starts holding an expired PIN, and the counts at a moment add up the hours still to come,
plus the few patients whose PIN runs out within the current hour, read exactly.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from patients.models import Patient
from registration.models import StatusMark, StatusTally
from registration.selectors.portal_status import accesses_enabled, pins_live

logger = logging.getLogger(__name__)

HOUR = 3600
Name = StatusTally.Name
HOURLY = (Name.PENDING_UNTIL, Name.FIRST_PIN_EXPIRY)
REFRESH_CHUNK = 5000  # patients refreshed per statement (bounded lists of ids, and memory)


@dataclass(frozen=True)
class Mark:
    """What the counters hold for one patient."""

    registered: bool = False
    latest_pin_expiry: datetime | None = None  # of its live PINs; None: it holds none
    earliest_pin_expiry: datetime | None = None


NOTHING = Mark()


@dataclass(frozen=True)
class TalliedCounts:
    patients: int
    registered: int
    pending: int
    expired_pins: int  # patients holding a live PIN that ran out


def hour_of(moment: datetime) -> int:
    return int(moment.timestamp() // HOUR)


def _counted(mark: Mark) -> Counter:
    """The counters `mark` adds one to."""
    counted = Counter()
    if mark.registered:
        counted[Name.REGISTERED, 0] += 1
    if mark.latest_pin_expiry is not None:
        counted[Name.HOLDING_PINS, 0] += 1
        counted[Name.FIRST_PIN_EXPIRY, hour_of(mark.earliest_pin_expiry)] += 1
        if not mark.registered:
            counted[Name.PENDING_UNTIL, hour_of(mark.latest_pin_expiry)] += 1
    return counted


def marks_now(patients) -> dict[int, Mark]:
    """Read the marks of `patients` (a queryset of patients) from their accesses and PINs, as they are."""
    live = pins_live().filter(patient=OuterRef("pk"))
    rows = patients.annotate(
        registered=Exists(accesses_enabled().filter(patient=OuterRef("pk"))),
        latest=Subquery(live.order_by("-expires_at").values("expires_at")[:1]),
        earliest=Subquery(live.order_by("expires_at").values("expires_at")[:1]),
    ).values_list("pk", "registered", "latest", "earliest")
    return {pk: Mark(registered, latest, earliest) for pk, registered, latest, earliest in rows}


def _marks_all() -> dict[int, Mark]:
    """Every patient's mark, from one grouped pass over the live PINs and one over the accesses: the
    recount's way (`marks_now` reads a few patients' in one statement; the tests hold them equal)."""
    registered = set(accesses_enabled().values_list("patient_id", flat=True).distinct())
    expiries = {
        pk: (latest, earliest)
        for pk, latest, earliest in pins_live()
        .values("patient_id")
        .annotate(latest=Max("expires_at"), earliest=Min("expires_at"))
        .values_list("patient_id", "latest", "earliest")
    }
    return {
        pk: Mark(pk in registered, *expiries.get(pk, (None, None))) for pk in registered | expiries.keys()
    }


def statuses_refresh(patient_ids: Iterable[int]) -> None:
    """Bring the counters up to date for `patient_ids`, whose accesses or PINs the caller's transaction
    just changed. Three statements on PostgreSQL (four elsewhere) when a status changed, two if none did."""
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), REFRESH_CHUNK):
        _refresh(ids[start : start + REFRESH_CHUNK])


def _refresh(ids: list[int]) -> None:
    before = _marks_lock(ids)  # locked first: the read below then sees what other transactions committed
    after = marks_now(Patient.objects.filter(pk__in=ids))
    changed = {pk: mark for pk, mark in after.items() if mark != before.get(pk, NOTHING)}
    if not changed:
        return
    delta = Counter()
    for pk, mark in changed.items():
        delta.update(_counted(mark))
        delta.subtract(_counted(before.get(pk, NOTHING)))
    _marks_and_tallies_write(changed, delta)


# Only "%s" placeholders are formatted into these, one group per row; the names are the models' own.
_MARKS_LOCK = (
    "INSERT INTO registration_statusmark (patient_id, registered) VALUES {rows} "
    "ON CONFLICT (patient_id) DO UPDATE SET registered = registration_statusmark.registered "
    "RETURNING patient_id, registered, latest_pin_expiry, earliest_pin_expiry"
)
_MARKS_WRITE = (
    "INSERT INTO registration_statusmark (patient_id, registered, latest_pin_expiry, earliest_pin_expiry) "
    "VALUES {rows} ON CONFLICT (patient_id) DO UPDATE SET registered = EXCLUDED.registered, "
    "latest_pin_expiry = EXCLUDED.latest_pin_expiry, earliest_pin_expiry = EXCLUDED.earliest_pin_expiry"
)
_TALLIES_ADD = "INSERT INTO registration_statustally (name, hour, n) VALUES {rows}"
_TALLIES_FOLD = (  # PostgreSQL: rows other transactions add meanwhile are not seen, so not deleted
    "WITH gone AS (DELETE FROM registration_statustally RETURNING name, hour, n) "
    "INSERT INTO registration_statustally (name, hour, n) "
    "SELECT name, hour, SUM(n) FROM gone GROUP BY name, hour HAVING SUM(n) <> 0"
)


def _rows(sql: str, rows: list[tuple]) -> tuple[str, list]:
    """`sql` with a placeholder group per row, and the rows' values in order."""
    group = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    return sql.format(rows=", ".join([group] * len(rows))), [value for row in rows for value in row]


def _marks_lock(ids: list[int]) -> dict[int, Mark]:
    """Lock the marks of `ids` (adding empty ones), and return them as they were.

    An INSERT … ON CONFLICT DO UPDATE both locks a mark and makes one for a patient counted for the first
    time: two transactions touching a new patient at once are then counted in turn."""
    with connection.cursor() as cursor:
        cursor.execute(*_rows(_MARKS_LOCK, [(pk, False) for pk in ids]))
        rows = cursor.fetchall()
    return {
        pk: Mark(bool(registered), _moment(latest), _moment(earliest))
        for pk, registered, latest, earliest in rows
    }


def _moment(value) -> datetime | None:
    """A timestamp as the database driver gave it: SQLite gives text."""
    if isinstance(value, str):
        value = parse_datetime(value)
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    return value


def _marks_and_tallies_write(marks: dict[int, Mark], delta: Counter) -> None:
    """Write the changed marks and add `delta` to the counters: one statement on PostgreSQL."""
    upsert, upsert_params = _rows(
        _MARKS_WRITE,
        [(pk, m.registered, m.latest_pin_expiry, m.earliest_pin_expiry) for pk, m in marks.items()],
    )
    tally_rows = sorted((str(name), hour, n) for (name, hour), n in delta.items() if n)
    with connection.cursor() as cursor:
        if not tally_rows:  # a PIN replaced by one running out in the same hour, say
            cursor.execute(upsert, upsert_params)
            return
        add, add_params = _rows(_TALLIES_ADD, tally_rows)
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH marks AS ({upsert}) {add}", upsert_params + add_params)
        else:
            cursor.execute(upsert, upsert_params)
            cursor.execute(add, add_params)


def patients_added(count: int) -> None:
    """Count `count` charts the EHR just added (an import, the HL7 feed), in the caller's transaction."""
    if count:
        StatusTally.objects.create(name=Name.PATIENTS, n=count)


def tallied_counts(now: datetime) -> TalliedCounts | None:
    """The counts at `now`, from the counters: two small reads, however many patients. None until the
    counters were first counted in full (`tallies_recount`)."""
    this_hour = hour_of(now)
    later = Q(hour__gt=this_hour)
    sums = StatusTally.objects.aggregate(
        **{
            key: Coalesce(Sum("n", filter=condition), 0)
            for key, condition in {
                "built": Q(name=Name.BUILT),
                "patients": Q(name=Name.PATIENTS),
                "registered": Q(name=Name.REGISTERED),
                "holding": Q(name=Name.HOLDING_PINS),
                "pending_later": Q(name=Name.PENDING_UNTIL) & later,
                "first_expiry_later": Q(name=Name.FIRST_PIN_EXPIRY) & later,
            }.items()
        }
    )
    if not sums["built"]:
        return None
    hour_end = datetime.fromtimestamp((this_hour + 1) * HOUR, UTC)
    pending_now = Q(registered=False, latest_pin_expiry__gt=now, latest_pin_expiry__lt=hour_end)
    first_expiry_now = Q(earliest_pin_expiry__gt=now, earliest_pin_expiry__lt=hour_end)
    within = StatusMark.objects.filter(pending_now | first_expiry_now).aggregate(
        pending=Count("pk", filter=pending_now), first_expiry=Count("pk", filter=first_expiry_now)
    )
    return TalliedCounts(
        patients=sums["patients"],
        registered=sums["registered"],
        pending=sums["pending_later"] + within["pending"],
        expired_pins=sums["holding"] - sums["first_expiry_later"] - within["first_expiry"],
    )


def _gone_by(now: datetime) -> Q:
    """Hourly counters for hours gone by: the counts at `now` or later never read them."""
    return Q(name__in=HOURLY, hour__lt=hour_of(now))


def tallies_compact(now: datetime) -> None:
    """Fold the counters' added rows into one per counter and hour, dropping the hours gone by."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_TALLIES_FOLD)
        else:  # SQLite: one writer at a time, so nothing is added between these statements
            sums = _tally_sums()
            StatusTally.objects.all().delete()
            StatusTally.objects.bulk_create(
                StatusTally(name=name, hour=hour, n=n) for (name, hour), n in sums.items()
            )
        StatusTally.objects.filter(_gone_by(now)).delete()


def _tally_sums() -> dict[tuple[str, int], int]:
    rows = StatusTally.objects.values_list("name", "hour").annotate(total=Sum("n")).exclude(total=0)
    return {(name, hour): total for name, hour, total in rows}


def tallies_recount(now: datetime) -> dict[str, int]:
    """Count every patient's mark from its accesses and PINs, make the marks and counters say so, and
    return what the counters had wrong (empty when the kept counts were right).

    The periodic check behind the kept counts (the snapshot task runs it every
    `settings.STATISTICS_RECOUNT_SECONDS`): a pass over every patient holding a PIN or an access. Only
    what was wrong is written."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # no service's refresh in between: they lock marks first
                cursor.execute("LOCK TABLE registration_statusmark IN EXCLUSIVE MODE")
        was = tallied_counts(now)
        fresh = _marks_all()
        stored = {
            pk: Mark(registered, latest, earliest)
            for pk, registered, latest, earliest in StatusMark.objects.values_list(
                "pk", "registered", "latest_pin_expiry", "earliest_pin_expiry"
            )
        }
        target = {pk: NOTHING for pk in stored} | fresh
        StatusMark.objects.bulk_create(
            (
                StatusMark(
                    patient_id=pk,
                    registered=mark.registered,
                    latest_pin_expiry=mark.latest_pin_expiry,
                    earliest_pin_expiry=mark.earliest_pin_expiry,
                )
                for pk, mark in target.items()
                if stored.get(pk, NOTHING) != mark
            ),
            batch_size=REFRESH_CHUNK,
            update_conflicts=True,
            unique_fields=["patient"],
            update_fields=["registered", "latest_pin_expiry", "earliest_pin_expiry"],
        )
        totals = Counter({(Name.PATIENTS.value, 0): Patient.objects.count(), (Name.BUILT.value, 0): 1})
        for mark in fresh.values():
            totals.update(_counted(mark))
        gone_by = hour_of(now)
        totals = {
            (str(name), hour): n
            for (name, hour), n in totals.items()
            if n and not (name in HOURLY and hour < gone_by)
        }
        if _tally_sums() != totals:
            StatusTally.objects.all().delete()
            StatusTally.objects.bulk_create(
                (StatusTally(name=name, hour=hour, n=n) for (name, hour), n in totals.items()),
                batch_size=REFRESH_CHUNK,
            )
        now_counts = tallied_counts(now)
    wrong = (
        {}
        if was is None
        else {
            field: getattr(was, field) - getattr(now_counts, field)
            for field in TalliedCounts.__dataclass_fields__
            if getattr(was, field) != getattr(now_counts, field)
        }
    )
    if wrong:
        logger.warning("The kept registration counts were off by %s; recounted in full.", wrong)
    return wrong
