"""Counting the statistics: how many children are on the portal, and how each got there, week by week."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from registration.models import PortalAccess
from registration.statistics.tallies import tallied_counts, tallies_recount


@dataclass(frozen=True)
class RegistrationCounts:
    """Patients by portal status: the numbers of the Statistics page's tiles."""

    registered: int
    pending: int
    not_registered: int
    expired_pins: int  # patients holding a PIN that ran out unused: the patient list's "PIN expired"

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


def registration_counts(*, now: datetime | None = None) -> RegistrationCounts:
    """Patients by portal status, and the holders of an expired unused PIN, at `now`: from the counters
    the services keep (`registration.statistics.tallies`), counted in full the first time. For the
    statistics snapshot (`registration.statistics.snapshots`), not for a page."""
    now = now or timezone.now()
    tallied = tallied_counts(now)
    if tallied is None:
        tallies_recount(now)
        tallied = tallied_counts(now)
    return RegistrationCounts(
        registered=tallied.registered,
        pending=tallied.pending,
        not_registered=tallied.patients - tallied.registered - tallied.pending,
        expired_pins=tallied.expired_pins,
    )


def registrations_per_week(
    *, weeks: int = 12, now: datetime | None = None
) -> list[tuple[date, dict[str, int]]]:
    """Count patients newly able to see the portal, per week (Monday first) and path, oldest week first."""
    now = now or timezone.now()
    this_monday = timezone.localdate(now) - timedelta(days=timezone.localdate(now).weekday())
    first = this_monday - timedelta(weeks=weeks - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        PortalAccess.objects.filter(granted_at__gte=start)
        .annotate(week=TruncWeek("granted_at"))
        .values("week", "path")
        .annotate(n=Count("pk"))
    )
    by_week: dict[date, dict[str, int]] = {first + timedelta(weeks=i): {} for i in range(weeks)}
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], datetime) else row["week"]
        by_week.setdefault(week, {})[row["path"]] = row["n"]
    return sorted(by_week.items())
