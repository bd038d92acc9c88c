"""What staff pages show about the whole practice: counted by the task worker, read from one row.

The registration funnel and the suspected duplicate accounts are each a pass over every patient or
account. A page never makes that pass itself: it reads the latest snapshot, and if that is older than
`settings.STATISTICS_MAX_AGE` seconds, the first page to notice asks the worker for a new one (one
claim per interval, however many staff are looking) and shows the one it has, with its time.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.tasks import task
from django.tasks.backends.immediate import ImmediateBackend
from django.utils import timezone

from registration import selectors
from registration.models import RegistrationSnapshot
from registration.statistics.counts import registration_counts, registrations_per_week

SNAPSHOT_ID = 1


@dataclass(frozen=True)
class Statistics:
    computed_at: datetime
    registered: int
    pending: int
    not_registered: int
    expired_pins: int  # patients holding a PIN that ran out unused
    weekly: list[tuple[date, dict[str, int]]]

    @property
    def patients(self) -> int:
        return self.registered + self.pending + self.not_registered

    @property
    def percent_registered(self) -> float | None:
        """Registered patients as a share of all, to one decimal: 99.96% reads 99.9%, never a 100% that
        is not; None for a practice with no patients yet."""
        if not self.patients:
            return None
        return math.floor(1000 * self.registered / self.patients) / 10


def registration_statistics(*, now: datetime | None = None) -> Statistics:
    snapshot = snapshot_current(now=now)
    return Statistics(
        computed_at=snapshot.computed_at,
        registered=snapshot.registered,
        pending=snapshot.pending,
        not_registered=snapshot.not_registered,
        expired_pins=snapshot.expired_pins,
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
    snapshot = snapshot_current()
    candidates = [(a, b, reasons) for a, b, reasons in snapshot.duplicate_pairs]
    pairs = selectors.duplicate_account_pairs(candidates, limit=limit)
    return DuplicatePairs(
        pairs=pairs,
        found=len(candidates),
        checked_at=snapshot.computed_at,
        more=len(pairs) == limit and len(candidates) > limit,
    )


def snapshot_current(*, now: datetime | None = None) -> RegistrationSnapshot:
    """The latest snapshot; a missing one is taken now, a stale one is retaken in the background."""
    now = now or timezone.now()
    snapshot = RegistrationSnapshot.objects.filter(pk=SNAPSHOT_ID).first()
    if snapshot is None:
        return snapshot_take(now=now)
    stale_before = now - timedelta(seconds=settings.STATISTICS_MAX_AGE)
    if snapshot.computed_at <= stale_before:
        claimed = (
            RegistrationSnapshot.objects.filter(pk=SNAPSHOT_ID)
            .filter(Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lte=stale_before))
            .update(refresh_requested_at=now)
        )
        if claimed and isinstance(take_registration_snapshot.get_backend(), ImmediateBackend):
            return snapshot_take(now=now)  # no worker (the quick start, tests): count now
        if claimed:
            take_registration_snapshot.enqueue()
    return snapshot


def snapshot_take(*, now: datetime | None = None) -> RegistrationSnapshot:
    """Count the funnel and look for duplicate accounts over the whole practice, and keep the result."""
    now = now or timezone.now()
    counts = registration_counts(now=now)
    weekly = registrations_per_week(now=now)
    snapshot, _ = RegistrationSnapshot.objects.update_or_create(
        pk=SNAPSHOT_ID,
        defaults={
            "computed_at": now,
            "registered": counts.registered,
            "pending": counts.pending,
            "not_registered": counts.not_registered,
            "expired_pins": counts.expired_pins,
            "weekly": [[week.isoformat(), by_path] for week, by_path in weekly],
            "duplicate_pairs": [list(pair) for pair in selectors.duplicate_account_candidates()],
            "refresh_requested_at": None,
        },
    )
    return snapshot


@task
def take_registration_snapshot() -> str:
    """Count the registration funnel and look for duplicate accounts, in the task worker."""
    snapshot_take()
    return "taken"
