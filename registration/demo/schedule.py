"""The practice's clinic: providers, opening hours, visit types, and the moments things happen."""

from datetime import date, datetime, time, timedelta
from functools import cache
from random import Random
from zoneinfo import ZoneInfo

from django.conf import settings

from patients.models import Appointment
from registration.demo.chance import Weighted

PROVIDERS = (
    "Dr. Ana Rivera",
    "Dr. James Chen",
    "Dr. Ngozi Okafor",
    "Dr. Priya Patel",
    "Dr. Linh Nguyen",
    "Dr. Sarah Goldberg",
    "Dr. Marcus Bell",
    "Dr. Elena Morales",
    "Dr. Daniel Kim",
    "Rachel Brooks, NP",
)
# Fifteen-minute slots, 8:00-12:00 and 13:00-17:00: 32 a provider a day.
CLINIC_SLOTS = tuple(
    time(hour, minute) for hour in (8, 9, 10, 11, 13, 14, 15, 16) for minute in (0, 15, 30, 45)
)

WELL_CHILD = "Well child"
SICK_VISIT = "Sick visit"
VACCINES = "Vaccines"
FOLLOW_UP = "Follow-up"
SPORTS_PHYSICAL = "Sports physical"
VISIT_TYPES = (WELL_CHILD, SICK_VISIT, VACCINES, FOLLOW_UP, SPORTS_PHYSICAL)

# Visit types by the child's age in years at the visit (under 2, under 10, older).
_VISITS_BY_AGE = (
    (2, Weighted({WELL_CHILD: 50, VACCINES: 20, SICK_VISIT: 20, FOLLOW_UP: 10})),
    (10, Weighted({WELL_CHILD: 35, SICK_VISIT: 35, VACCINES: 12, FOLLOW_UP: 18})),
    (99, Weighted({WELL_CHILD: 30, SICK_VISIT: 30, SPORTS_PHYSICAL: 20, FOLLOW_UP: 12, VACCINES: 8})),
)
_PAST = Weighted(
    {Appointment.Status.COMPLETED: 86, Appointment.Status.NO_SHOW: 6, Appointment.Status.CANCELLED: 8}
)
_FUTURE = Weighted({Appointment.Status.SCHEDULED: 93, Appointment.Status.CANCELLED: 7})


def practice_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def moment(day: date, at: time) -> datetime:
    """`day` at `at` on the practice's clock."""
    return datetime.combine(day, at, tzinfo=practice_zone())


def days_ago(today: date, days: int, minute_of_day: int) -> datetime:
    return moment(today - timedelta(days=days), time(minute_of_day // 60, minute_of_day % 60))


def visit_type_for(rng: Random, date_of_birth: date, day: date) -> str:
    age = (day - date_of_birth).days / 365.25
    for up_to, types in _VISITS_BY_AGE:
        if age < up_to:
            return types.draw(rng)
    raise AssertionError("unreachable")


def past_status(rng: Random) -> str:
    return _PAST.draw(rng)


def future_status(rng: Random) -> str:
    return _FUTURE.draw(rng)


def history_day(rng: Random, today: date, not_before: date) -> date:
    """A weekday in the eighteen months before and six months after today, not today or tomorrow.

    Today's and tomorrow's clinic is filled slot by slot (see `registration.demo.clinic_days`).
    """
    days = _history_days(today)
    while True:
        day = rng.choice(days)
        if day >= not_before:
            return day


@cache
def _history_days(today: date) -> tuple[date, ...]:
    days = (today + timedelta(days=n) for n in range(-548, 183))
    return tuple(day for day in days if day.weekday() < 5 and not 0 <= (day - today).days <= 1)
