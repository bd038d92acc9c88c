"""Who is in the demo practice: families made up from a fixed seed, the same on every run.

Family `n` always has the same children, contacts and portal plan, whatever the requested number of
patients: each family draws from its own `seeded("family", n)` generator. Patients are numbered in family
order and their MRN is their number, so a run finds what an earlier run made by MRN alone. Dates are
relative to `today`, so records made on different days differ only in when things happened.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from random import Random

from patients.models import Patient, PatientContact
from registration.demo import people, schedule
from registration.demo.chance import Weighted, seeded

MRN_PREFIX = "MS"  # Maple Street's chart numbers: MS0000001, MS0000002, ...
# The first families are the visible demo: their portal state goes through the registration services.
SHOWCASE_FAMILIES = 30

Relationship = PatientContact.Relationship


class Plan(StrEnum):
    """Where a family stands with the portal."""

    NOT_REGISTERED = "not_registered"
    PENDING = "pending"  # the practice issued the main contact a PIN per child, not used yet
    EXPIRED = "expired"  # ... and it ran out unused
    REGISTERED = "registered"  # the main contact redeemed a PIN per child
    BOTH_REGISTERED = "both_registered"  # both parents did, each with their own account
    AWAITING = "awaiting"  # the main contact signed up without a PIN; the practice has not decided
    AUTHENTICATED = "authenticated"  # ... and front desk authenticated it (showcase families only)


ACCOUNT_PLANS = {Plan.REGISTERED, Plan.BOTH_REGISTERED, Plan.AWAITING, Plan.AUTHENTICATED}
PIN_PLANS = {Plan.PENDING, Plan.EXPIRED, Plan.REGISTERED, Plan.BOTH_REGISTERED}
# The paths staff issue PINs through directly (the appointment list sends a welcome message instead).
PIN_PATHS = ("chart", "appointment_window", "patient_admin")


class Household(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    GRANDPARENT = "grandparent"  # a grandparent raising the children, their legal guardian
    TWO_PARENTS = "two_parents"
    TWO_PARENTS_GRANDPARENT = "two_parents_grandparent"


@dataclass(frozen=True)
class Story:
    """A showcase family's shape, chosen so the demo shows every case."""

    children: int
    household: Household
    language: str
    plan: Plan
    no_email: tuple[str, ...] = ()  # relationships of contacts who gave only a phone number


STORIES = {
    1: Story(3, Household.TWO_PARENTS, "en", Plan.BOTH_REGISTERED),
    2: Story(2, Household.TWO_PARENTS, "es", Plan.PENDING),
    3: Story(2, Household.TWO_PARENTS_GRANDPARENT, "es", Plan.AWAITING),  # the duplicate warning
    4: Story(1, Household.MOTHER, "en", Plan.NOT_REGISTERED),
    5: Story(1, Household.TWO_PARENTS, "en", Plan.REGISTERED, no_email=(Relationship.FATHER,)),
    6: Story(2, Household.GRANDPARENT, "es", Plan.NOT_REGISTERED, no_email=(Relationship.GUARDIAN,)),
    7: Story(1, Household.FATHER, "en", Plan.EXPIRED),
    8: Story(2, Household.TWO_PARENTS, "en", Plan.AUTHENTICATED),
    9: Story(1, Household.TWO_PARENTS, "es", Plan.REGISTERED),
}
# Plans of the other showcase families, in turn.
SHOWCASE_PLANS = (
    Plan.NOT_REGISTERED, Plan.PENDING, Plan.REGISTERED, Plan.NOT_REGISTERED, Plan.REGISTERED,
    Plan.PENDING, Plan.NOT_REGISTERED, Plan.BOTH_REGISTERED, Plan.REGISTERED, Plan.NOT_REGISTERED,
    Plan.PENDING, Plan.REGISTERED, Plan.EXPIRED, Plan.NOT_REGISTERED, Plan.REGISTERED, Plan.AWAITING,
    Plan.NOT_REGISTERED, Plan.PENDING, Plan.REGISTERED, Plan.NOT_REGISTERED, Plan.REGISTERED,
)  # fmt: skip
# The rest of the practice, by weight.
BULK_PLANS = Weighted(
    {
        Plan.NOT_REGISTERED: 500,
        Plan.PENDING: 80,
        Plan.EXPIRED: 30,
        Plan.REGISTERED: 300,
        Plan.BOTH_REGISTERED: 87,
        Plan.AWAITING: 3,
    }
)
HOUSEHOLDS = Weighted(
    {
        Household.MOTHER: 12,
        Household.FATHER: 3,
        Household.GRANDPARENT: 2,
        Household.TWO_PARENTS: 61,
        Household.TWO_PARENTS_GRANDPARENT: 22,
    }
)
FAMILY_SIZES = Weighted({1: 75, 2: 19, 3: 5, 4: 1})
SEXES = Weighted({Patient.Sex.FEMALE: 49, Patient.Sex.MALE: 49, Patient.Sex.UNKNOWN: 2})
EMAIL_VERIFIED_AFTER = timedelta(minutes=12)  # a parent follows the emailed link soon after signing up
YOUNGEST_PATIENT_DAYS = 100  # newcomers' babies are younger, so their requests match no patient


# ---------------------------------------------------------------- what a family is made of
@dataclass(frozen=True)
class Contact:
    relationship: str
    first_name: str
    last_name: str
    email: str
    cell_phone: str  # E.164
    language: str


@dataclass(frozen=True)
class Visit:
    starts_at: datetime
    provider: str
    visit_type: str
    status: str


@dataclass(frozen=True)
class Child:
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    visits: tuple[Visit, ...]


@dataclass(frozen=True)
class Family:
    number: int
    plan: Plan
    contacts: tuple[Contact, ...]  # the main contact (who registers) first
    children: tuple[Child, ...]
    pin_path: str
    days_ago: int  # when the family's registration began (see `registration_times`)
    minute_of_day: int

    @property
    def is_showcase(self) -> bool:
        return self.number <= SHOWCASE_FAMILIES

    @property
    def registering_contacts(self) -> tuple[Contact, ...]:
        """The contacts the plan gives a PIN, an account or a request."""
        if self.plan == Plan.BOTH_REGISTERED:
            return self.contacts[:2]
        return self.contacts[:1] if self.plan != Plan.NOT_REGISTERED else ()


@dataclass(frozen=True)
class Outline:
    """A family's place in the practice: its number and its patients' numbers (hence MRNs)."""

    number: int
    first_patient: int
    size: int  # children, after cutting the last family at the requested number of patients

    @property
    def mrns(self) -> list[str]:
        return [mrn(self.first_patient + i) for i in range(self.size)]


def mrn(patient_number: int) -> str:
    return f"{MRN_PREFIX}{patient_number + 1:07d}"


def outlines(patient_total: int) -> Iterator[Outline]:
    """The families holding the first `patient_total` patients, in order."""
    number, patient = 1, 0
    while patient < patient_total:
        size = family_size(number)
        yield Outline(number, patient, min(size, patient_total - patient))
        number, patient = number + 1, patient + size


@cache
def family_size(number: int) -> int:
    if number in STORIES:
        return STORIES[number].children
    return FAMILY_SIZES.draw(seeded("size", number))


# ---------------------------------------------------------------- making a family up
def family_describe(outline: Outline, today: date) -> Family:
    rng = seeded("family", outline.number)
    story = _story(rng, outline.number)
    hispanic = story.language == "es" or rng.random() < 0.08  # some Hispanic families prefer English
    culture = "es" if hispanic else "en"
    family_name = rng.choice(people.SURNAMES[culture])  # the father's, or the single parent's
    contacts = _contacts(rng, outline.number, story, culture, family_name)
    named: set[str] = set()  # siblings' first names, so no two are alike
    children = [
        _child(rng, mrn(outline.first_patient + i), family_name, culture, age, today, named)
        for i, age in enumerate(_ages(rng, family_size(outline.number)))
    ]
    return Family(
        number=outline.number,
        plan=story.plan,
        contacts=contacts,
        children=tuple(children[: outline.size]),
        pin_path=rng.choice(PIN_PATHS),
        days_ago=_registration_days_ago(rng, story.plan),
        minute_of_day=rng.randrange(8 * 60, 17 * 60),
    )


def _story(rng: Random, number: int) -> Story:
    if number in STORIES:
        return STORIES[number]
    household = HOUSEHOLDS.draw(rng)
    language = "es" if rng.random() < 0.17 else "en"
    if number <= SHOWCASE_FAMILIES:
        plan = SHOWCASE_PLANS[(number - len(STORIES) - 1) % len(SHOWCASE_PLANS)]
    else:
        plan = BULK_PLANS.draw(rng)
    if plan == Plan.BOTH_REGISTERED and household not in (
        Household.TWO_PARENTS,
        Household.TWO_PARENTS_GRANDPARENT,
    ):
        plan = Plan.REGISTERED
    no_email = tuple(
        relationship
        for relationship, chance in ((Relationship.FATHER, 0.07), (Relationship.GRANDPARENT, 0.4))
        if rng.random() < chance
    )
    return Story(family_size(number), household, language, plan, no_email)


def _contacts(rng: Random, number: int, story: Story, culture: str, family_name: str) -> tuple[Contact, ...]:
    """The main contact first: mother, else father, else the grandparent who is guardian."""
    maiden_name = rng.choice(people.SURNAMES[culture]) if rng.random() < 0.35 else family_name
    people_in_it: list[tuple[str, str, str]] = []  # (relationship, first name, last name)
    if story.household in (Household.MOTHER, Household.TWO_PARENTS, Household.TWO_PARENTS_GRANDPARENT):
        single = story.household == Household.MOTHER
        mother_name = family_name if single else maiden_name
        people_in_it.append((Relationship.MOTHER, rng.choice(people.WOMEN[culture]), mother_name))
    if story.household in (Household.FATHER, Household.TWO_PARENTS, Household.TWO_PARENTS_GRANDPARENT):
        people_in_it.append((Relationship.FATHER, rng.choice(people.MEN[culture]), family_name))
    if story.household in (Household.GRANDPARENT, Household.TWO_PARENTS_GRANDPARENT):
        names = people.GRANDMOTHERS if rng.random() < 0.7 else people.GRANDFATHERS
        relationship = (
            Relationship.GUARDIAN if story.household == Household.GRANDPARENT else Relationship.GRANDPARENT
        )
        last = (
            family_name if relationship == Relationship.GUARDIAN else rng.choice((family_name, maiden_name))
        )
        people_in_it.append((relationship, rng.choice(names[culture]), last))

    taken: set[str] = set()
    contacts = []
    for slot, (relationship, first, last) in enumerate(people_in_it):
        needs_account = (slot == 0 and story.plan in ACCOUNT_PLANS) or (
            slot == 1 and story.plan == Plan.BOTH_REGISTERED
        )
        has_email = needs_account or relationship not in story.no_email
        contacts.append(
            Contact(
                relationship=relationship,
                first_name=first,
                last_name=last,
                email=people.family_email(rng, first, last, number, taken) if has_email else "",
                cell_phone=people.cell_phone(number * 4 + slot),
                language=story.language,
            )
        )
    return tuple(contacts)


def _ages(rng: Random, size: int) -> list[int]:
    """Ages in days, oldest first, siblings a year or more apart."""
    youngest = YOUNGEST_PATIENT_DAYS
    oldest = rng.randint(youngest + 450 * (size - 1), 17 * 365 + 300)
    ages = [oldest]
    for _ in range(size - 1):
        ages.append(max(youngest, ages[-1] - rng.randint(400, 1300)))
    return ages


def _child(
    rng: Random, chart_number: str, surname: str, culture: str, age_days: int, today: date, named: set[str]
) -> Child:
    sex = SEXES.draw(rng)
    names = {Patient.Sex.FEMALE: people.GIRLS, Patient.Sex.MALE: people.BOYS}.get(sex) or rng.choice(
        (people.GIRLS, people.BOYS)
    )
    first_name = rng.choice([name for name in names[culture] if name not in named])
    named.add(first_name)
    date_of_birth = today - timedelta(days=age_days)
    visits = tuple(
        _visit(rng, date_of_birth, today) for _ in range(rng.choice((1, 2, 2, 3, 3, 3, 3, 4, 4, 5)))
    )
    return Child(chart_number, first_name, surname, date_of_birth, sex, visits)


def _visit(rng: Random, date_of_birth: date, today: date) -> Visit:
    day = schedule.history_day(rng, today, not_before=date_of_birth + timedelta(days=3))
    return Visit(
        starts_at=schedule.moment(day, rng.choice(schedule.CLINIC_SLOTS)),
        provider=rng.choice(schedule.PROVIDERS),
        visit_type=schedule.visit_type_for(rng, date_of_birth, day),
        status=schedule.past_status(rng) if day < today else schedule.future_status(rng),
    )


def _registration_days_ago(rng: Random, plan: Plan) -> int:
    if plan in (Plan.REGISTERED, Plan.BOTH_REGISTERED, Plan.AUTHENTICATED):
        return rng.randint(20, 540)
    if plan == Plan.PENDING:
        return rng.randint(1, 9)
    if plan == Plan.EXPIRED:
        return rng.randint(2, 60)  # days after the PIN ran out
    return rng.randint(1, 6)  # awaiting: a request from this week


# ---------------------------------------------------------------- when registration happened
@dataclass(frozen=True)
class PinTimes:
    issued_at: datetime
    redeemed_at: datetime | None


def pin_times(
    family: Family, child_index: int, contact_index: int, today: date, validity_days: int
) -> PinTimes:
    """When the practice issued a contact's PIN for one child, and when the parent redeemed it.

    Siblings' PINs came a few days apart, the oldest first; the second parent's the day after.
    """
    minute = family.minute_of_day
    if family.plan == Plan.PENDING:  # issued recently enough to be usable still
        return PinTimes(schedule.days_ago(today, min(family.days_ago, validity_days - 1), minute), None)
    if family.plan == Plan.EXPIRED:
        return PinTimes(schedule.days_ago(today, validity_days + family.days_ago, minute), None)
    issued = family.days_ago - 3 * child_index - contact_index
    redeemed = issued - 1 - contact_index
    return PinTimes(schedule.days_ago(today, issued, minute), schedule.days_ago(today, redeemed, minute))


def request_submitted_at(family: Family, today: date) -> datetime:
    return schedule.days_ago(today, family.days_ago, family.minute_of_day)


def request_authenticated_at(family: Family, today: date) -> datetime:
    return schedule.days_ago(today, family.days_ago - 1, family.minute_of_day)


# ---------------------------------------------------------------- parents not in the practice yet
@dataclass(frozen=True)
class Newcomer:
    """A parent who signed up for a baby the practice has not seen yet: a request that matches nobody."""

    number: int
    parent: Contact
    child_first_name: str
    child_last_name: str
    child_date_of_birth: date
    submitted_at: datetime


def newcomer_count(patient_total: int) -> int:
    return max(2, patient_total // 500)


def newcomer_describe(number: int, today: date) -> Newcomer:
    rng = seeded("newcomer", number)
    culture = "es" if rng.random() < 0.2 else "en"
    mother = rng.random() < 0.8
    first = rng.choice((people.WOMEN if mother else people.MEN)[culture])
    last = rng.choice(people.SURNAMES[culture])
    parent = Contact(
        relationship=Relationship.MOTHER if mother else Relationship.FATHER,
        first_name=first,
        last_name=last,
        email=people.newcomer_email(first, last, number),
        cell_phone=people.cell_phone(people.PHONE_SPACE - number),
        language=culture,
    )
    return Newcomer(
        number=number,
        parent=parent,
        child_first_name=rng.choice(rng.choice((people.GIRLS, people.BOYS))[culture]),
        child_last_name=last,
        child_date_of_birth=today - timedelta(days=rng.randint(3, YOUNGEST_PATIENT_DAYS - 40)),
        submitted_at=schedule.days_ago(today, rng.randint(1, 10), rng.randrange(6 * 60, 23 * 60)),
    )
