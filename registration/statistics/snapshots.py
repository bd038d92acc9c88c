"""The statistics snapshot: what staff pages show about the whole practice, counted by the task worker,
read from one row.

The registration counts and the suspected duplicate accounts are each a pass over every patient or
account. A page never makes that pass itself: it reads the statistics snapshot, and if that is older than
`settings.STATISTICS_MAX_AGE` seconds, the first page to notice asks the worker for a new one (one
claim, one UPDATE, per interval, however many staff are looking) and shows the one it has, with its time.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.tasks import task
from django.tasks.backends.immediate import ImmediateBackend
from django.utils import timezone

from registration import selectors
from registration.models import RegistrationSnapshot
from registration.statistics.counts import RegistrationCounts, registration_counts, registrations_per_week
from registration.statistics.tallies import tallies_compact, tallies_recount

# The statistics snapshot is one row, replaced in place.
STATISTICS_SNAPSHOT_ID = 1


@dataclass(frozen=True)
class Statistics:
    """What the Statistics page shows, as the statistics snapshot holds it."""

    computed_at: datetime
    counts: RegistrationCounts
    weekly: list[tuple[date, dict[str, int]]]  # new portal access per week and path, oldest week first


def statistics_latest(*, now: datetime | None = None) -> Statistics:
    """Return the statistics from the latest snapshot (a stale one is retaken in the background)."""
    snapshot = statistics_snapshot_current(now=now)
    return Statistics(
        computed_at=snapshot.computed_at,
        counts=RegistrationCounts(
            registered=snapshot.registered,
            pending=snapshot.pending,
            not_registered=snapshot.not_registered,
            expired_pins=snapshot.expired_pins,
        ),
        weekly=[(date.fromisoformat(week), by_path) for week, by_path in snapshot.weekly],
    )


@dataclass(frozen=True)
class DuplicatePairs:
    pairs: list[selectors.DuplicatePair]  # the first `limit`, both accounts still enabled
    found: int  # pairs found when the snapshot was taken, settled ones included
    checked_at: datetime
    more: bool  # more open pairs than the page shows


def duplicate_pairs(*, limit: int = 20) -> DuplicatePairs:
    """Suspected duplicate accounts, oldest first: an admin settles them one at a time, so a page
    shows a few (each pair is a form of its own, ~1 ms to draw)."""
    snapshot = statistics_snapshot_current()
    candidates = [(a, b, reasons) for a, b, reasons in snapshot.duplicate_pairs]
    pairs = selectors.duplicate_account_pairs(candidates, limit=limit)
    return DuplicatePairs(
        pairs=pairs,
        found=len(candidates),
        checked_at=snapshot.computed_at,
        more=len(pairs) == limit and len(candidates) > limit,
    )


def statistics_snapshot_current(*, now: datetime | None = None) -> RegistrationSnapshot:
    """Return the latest statistics snapshot; a missing one is taken now, a stale one is retaken in the
    background."""
    now = now or timezone.now()
    snapshot = RegistrationSnapshot.objects.filter(pk=STATISTICS_SNAPSHOT_ID).first()
    if snapshot is None:
        return statistics_snapshot_take(now=now)
    stale_before = now - timedelta(seconds=settings.STATISTICS_MAX_AGE)
    # Claimed within the interval (by any process, as the row just read says): no write. The UPDATE's
    # own condition settles two requests that both read it unclaimed.
    unclaimed = snapshot.refresh_requested_at is None or snapshot.refresh_requested_at <= stale_before
    if snapshot.computed_at <= stale_before and unclaimed:
        claimed = (
            RegistrationSnapshot.objects.filter(pk=STATISTICS_SNAPSHOT_ID)
            .filter(Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lte=stale_before))
            .update(refresh_requested_at=now)
        )
        if claimed and isinstance(take_statistics_snapshot.get_backend(), ImmediateBackend):
            return statistics_snapshot_take(now=now)  # no worker (the quick start, tests): count now
        if claimed:
            take_statistics_snapshot.enqueue()
    return snapshot


def statistics_snapshot_take(*, now: datetime | None = None) -> RegistrationSnapshot:
    """Read the registration counts from their counters (recounting them in full every
    `settings.STATISTICS_RECOUNT_SECONDS`), count the weekly registrations and the duplicate accounts,
    and keep them as the statistics snapshot."""
    now = now or timezone.now()
    recounted_at = (
        RegistrationSnapshot.objects.filter(pk=STATISTICS_SNAPSHOT_ID)
        .values_list("recounted_at", flat=True)
        .first()
    )
    if recounted_at is None or recounted_at <= now - timedelta(seconds=settings.STATISTICS_RECOUNT_SECONDS):
        tallies_recount(now)
        recounted_at = now
    else:
        tallies_compact(now)
    counts = registration_counts(now=now)
    weekly = registrations_per_week(now=now)
    snapshot, _ = RegistrationSnapshot.objects.update_or_create(
        pk=STATISTICS_SNAPSHOT_ID,
        defaults={
            "computed_at": now,
            "registered": counts.registered,
            "pending": counts.pending,
            "not_registered": counts.not_registered,
            "expired_pins": counts.expired_pins,
            "weekly": [[week.isoformat(), by_path] for week, by_path in weekly],
            "duplicate_pairs": [list(pair) for pair in selectors.duplicate_account_candidates()],
            "refresh_requested_at": None,
            "recounted_at": recounted_at,
        },
    )
    return snapshot


@task
def take_statistics_snapshot() -> str:
    """Take the statistics snapshot, in the task worker."""
    statistics_snapshot_take()
    return "taken"
