"""The EHR feed's state for its admin page: the last message, today's counts and the recent errors.

Four queries whatever the table holds: each reads one index (`feed_message_by_time` or
`feed_message_by_outcome`) over the rows it shows, never the whole table, and none reads `raw`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.utils import timezone

from registration.models import FeedMessage

Outcome = FeedMessage.Outcome
RECENT_ERRORS = 20
ERROR_OUTCOMES = (Outcome.REFUSED, Outcome.UNREADABLE)
# What the page shows of a message; `raw` (health information, and long) is read only when asked for.
SUMMARY_FIELDS = ("pk", "sender", "control_id", "message_type", "received_at", "outcome", "error")


@dataclass
class TypeCounts:
    """Today's messages of one type, by outcome."""

    message_type: str  # "" for messages too broken to have one
    applied: int = 0
    ignored: int = 0
    refused: int = 0
    unreadable: int = 0

    @property
    def total(self) -> int:
        return self.applied + self.ignored + self.refused + self.unreadable

    def add(self, outcome: str, n: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)


@dataclass
class FeedState:
    now: datetime
    day: date  # the practice's day the counts are of
    last: FeedMessage | None  # the newest message received, if any
    today: list[TypeCounts] = field(default_factory=list)  # by type, A to Z, then those with none
    errors: list[FeedMessage] = field(default_factory=list)  # refused or unreadable, newest first

    @property
    def today_total(self) -> TypeCounts:
        total = TypeCounts(message_type="")
        for row in self.today:
            for outcome in Outcome.values:
                total.add(outcome, getattr(row, outcome))
        return total

    @property
    def last_is_recent(self) -> bool:
        """Received within the last minute: "just now" reads better than "0 minutes ago"."""
        return self.last is not None and self.now - self.last.received_at < timedelta(minutes=1)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first instant of the practice's `day` and of the day after (settings.TIME_ZONE)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def feed_state(*, now: datetime) -> FeedState:
    """What the feed page shows, as of `now`."""
    day = timezone.localdate(now)
    start, end = local_day_bounds(day)
    last = FeedMessage.objects.only("received_at", "message_type", "outcome").order_by("-received_at").first()
    # A time range over the time index: today's rows only, however long the table has grown.
    counted = (
        FeedMessage.objects.filter(received_at__gte=start, received_at__lt=end)
        .values_list("message_type", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_type: dict[str, TypeCounts] = {}
    for message_type, outcome, n in counted:
        by_type.setdefault(message_type, TypeCounts(message_type=message_type)).add(outcome, n)
    return FeedState(
        now=now,
        day=day,
        last=last,
        today=[by_type[t] for t in sorted(by_type, key=lambda t: (t == "", t))],  # no type: last
        errors=feed_errors_recent(),
    )


def feed_errors_recent(*, limit: int = RECENT_ERRORS) -> list[FeedMessage]:
    """The newest refused and unreadable messages, newest first.

    One query per outcome, each the top of its (outcome, received_at) index: a single query with
    `outcome IN (...)` would sort every error ever received to find the newest.
    """
    rows = [
        message
        for outcome in ERROR_OUTCOMES
        for message in FeedMessage.objects.filter(outcome=outcome)
        .only(*SUMMARY_FIELDS, "raw_pruned_at")
        .order_by("-received_at")[:limit]
    ]
    rows.sort(key=lambda m: (m.received_at, m.pk), reverse=True)
    return rows[:limit]


def feed_message_summary(pk: int) -> FeedMessage | None:
    """One message without its raw text: what the message page shows before (or instead of) it."""
    return (
        FeedMessage.objects.filter(pk=pk)
        .only(*SUMMARY_FIELDS, "ack_code", "peer", "size", "raw_pruned_at")
        .first()
    )
