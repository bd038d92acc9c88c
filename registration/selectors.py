"""Reads of registration state. Portal status is derived here, and only here."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Lower, TruncWeek
from django.db.models.lookups import IsNull
from django.utils import timezone
from phonenumber_field.phonenumber import to_python as phone_parse

from accounts.models import User
from patients import names
from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import (
    AuditEvent,
    EnrollmentCode,
    Path,
    Pin,
    PortalAccess,
    PortalAccount,
    PortalStatus,
    SelfRegistrationRequest,
    WelcomeMessage,
)


def portal_status_expression(now: datetime, patient_ref: str = "pk") -> Case:
    """The portal status of the outer query's patient (its id at `patient_ref`), as one SQL expression.

    Registered: an enabled account can see the patient. Pending: an unused, unexpired PIN exists.
    Scalar subqueries (rather than EXISTS in the select list) stay index lookups on large tables.
    """
    access = PortalAccess.objects.filter(patient=OuterRef(patient_ref), account__disabled_at__isnull=True)
    live_pin = pins_usable(now).filter(patient=OuterRef(patient_ref))
    return Case(
        When(IsNull(Subquery(access.values("pk")[:1]), False), then=Value(PortalStatus.REGISTERED.value)),
        When(IsNull(Subquery(live_pin.values("pk")[:1]), False), then=Value(PortalStatus.PENDING.value)),
        default=Value(PortalStatus.NOT_REGISTERED.value),
        output_field=CharField(),
    )


def pins_live(queryset: QuerySet[Pin] | None = None) -> QuerySet[Pin]:
    """PINs neither redeemed nor revoked (an expired one stays live until something replaces it)."""
    queryset = Pin.objects.all() if queryset is None else queryset
    return queryset.filter(redeemed_at__isnull=True, revoked_at__isnull=True)


def pins_usable(now: datetime) -> QuerySet[Pin]:
    """PINs a parent could redeem now: not used, not revoked or locked, not expired."""
    return pins_live().filter(expires_at__gt=now)


def pins_expired(now: datetime) -> QuerySet[Pin]:
    """PINs that ran out unused and were not replaced: staff may want to send a new one."""
    return pins_live().filter(expires_at__lte=now)


def patients_with_portal_status(
    queryset: QuerySet[Patient] | None = None, *, now: datetime | None = None
) -> QuerySet[Patient]:
    queryset = Patient.objects.all() if queryset is None else queryset
    return queryset.annotate(portal_status=portal_status_expression(now or timezone.now()))


def patient_portal_status(patient: Patient, *, now: datetime | None = None) -> PortalStatus:
    status = (
        patients_with_portal_status(Patient.objects.filter(pk=patient.pk), now=now)
        .values_list("portal_status", flat=True)
        .get()
    )
    return PortalStatus(status)


def self_registration_requests_matching(
    *, patient: Patient | None = None, contacts: Iterable[FamilyContact] = ()
) -> QuerySet[SelfRegistrationRequest]:
    """Waiting self-registration requests that may be from one of these contacts or about this patient:
    the rule behind the PIN's duplicate warning and the chart's "a parent asked" notice.

    A match is the child's date of birth with either name, or the parent's email or cell phone.
    """
    match = Q()
    if patient is not None:
        match |= _same_child(patient.date_of_birth, patient.last_name, patient.first_name)
    for contact in contacts:
        if contact.email:
            match |= Q(parent_email__iexact=contact.email)
        if contact.cell_phone:
            match |= Q(parent_cell_phone=contact.cell_phone)
    if not match:
        return SelfRegistrationRequest.objects.none()
    return _awaiting().filter(match).select_related("account__user").order_by("submitted_at")


def links_with_waiting_requests(link_ids: Iterable[int]) -> set[int]:
    """Of these chart links (patient and contact), those a waiting request may be from or about, by the
    rule of `self_registration_requests_matching`, in one query: what Register all skips up front.

    One semi-join per way of matching, in a UNION: an OR across them cannot be hashed, and compared every
    waiting request with every link (110 ms for a 300-appointment day)."""
    links = PatientContact.objects.filter(pk__in=list(link_ids))
    awaiting = _awaiting()
    ref = OuterRef
    about_the_child = links.filter(
        Exists(
            awaiting.filter(
                _same_child(
                    ref("patient__date_of_birth"), ref("patient__last_name"), ref("patient__first_name")
                )
            )
        )
    )
    from_the_email = links.exclude(contact__email="").filter(
        Exists(awaiting.filter(parent_email__iexact=ref("contact__email")))
    )
    from_the_phone = links.exclude(contact__cell_phone="").filter(
        Exists(awaiting.filter(parent_cell_phone=ref("contact__cell_phone")))
    )
    pks = about_the_child.values_list("pk", flat=True)
    return set(
        pks.union(from_the_email.values_list("pk", flat=True), from_the_phone.values_list("pk", flat=True))
    )


def _same_child(date_of_birth, last_name, first_name) -> Q:
    """A request about this child: the date of birth with either name, whatever the case."""
    return Q(child_date_of_birth=date_of_birth) & (
        Q(child_last_name__iexact=last_name) | Q(child_first_name__iexact=first_name)
    )


# ---------------------------------------------------------------- staff pages
# Each function below fetches what one page shows in a fixed number of queries.


def appointments_for_day(day: date, *, now: datetime | None = None) -> QuerySet[Appointment]:
    """The practice's appointments on `day` (its own time zone), each with the patient's portal status."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    # A time range, not starts_at__date: the range uses the index, the date cast scans the table.
    return (
        Appointment.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("patient")
        .annotate(portal_status=portal_status_expression(now or timezone.now(), patient_ref="patient_id"))
        .order_by("starts_at", "pk")
    )


def appointment_rows_for_day(day: date, *, now: datetime | None = None) -> list[dict]:
    """The dashboard's rows: `appointments_for_day` as plain values (300 model pairs cost ~10 ms).

    A Pending row says when its PIN went out: `pin_sent_at` (its welcome message was sent), else
    `pin_queued_at` (the message waits to be sent), else `pin_given_at` (a PIN printed or shown).
    """
    now = now or timezone.now()
    latest = pins_usable(now).filter(patient=OuterRef("patient_id")).order_by("-issued_at", "-pk")
    return list(
        appointments_for_day(day, now=now)
        .annotate(
            pin_given_at=Subquery(latest.values("issued_at")[:1]),
            pin_queued_at=Subquery(latest.values("welcome_message__queued_at")[:1]),
            pin_sent_at=Subquery(latest.values("welcome_message__sent_at")[:1]),
        )
        .values(
            "pk",
            "starts_at",
            "patient_id",
            "patient__last_name",
            "patient__first_name",
            "patient__date_of_birth",
            "patient__active",  # the EHR's word: a deceased child or an inactive chart is not invited
            "patient__deceased",
            "patient__deceased_on",
            "provider",
            "visit_type",
            "portal_status",
            "pin_given_at",
            "pin_queued_at",
            "pin_sent_at",
        )
    )


@dataclass(frozen=True)
class RegistrationCounts:
    registered: int
    pending: int
    not_registered: int
    expired_pins: int  # patients holding a PIN that ran out unused: the patient list's "PIN expired"


def registration_counts(*, now: datetime | None = None) -> RegistrationCounts:
    """Patients by portal status, and expired unused PINs: for the task that keeps the statistics
    (registration/statistics.py), not for a page.

    Counted over the registration tables, not by deriving every patient's status.
    """
    now = now or timezone.now()
    registered_ids = PortalAccess.objects.filter(account__disabled_at__isnull=True).values("patient_id")
    registered = registered_ids.aggregate(n=Count("patient_id", distinct=True))["n"]
    pending = (
        pins_usable(now)
        .exclude(patient_id__in=registered_ids)
        .aggregate(n=Count("patient_id", distinct=True))["n"]
    )
    total = Patient.objects.count()
    expired = pins_expired(now).aggregate(n=Count("patient_id", distinct=True))["n"]
    return RegistrationCounts(
        registered=registered,
        pending=pending,
        not_registered=total - registered - pending,
        expired_pins=expired,
    )


def registrations_per_week(
    *, weeks: int = 12, now: datetime | None = None
) -> list[tuple[date, dict[str, int]]]:
    """Patients newly able to see the portal, per week (Monday first) and per path, oldest week first."""
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


# Waiting for staff once the parent confirmed the email; before that, waiting for the parent.
_WAITING = Q(status=SelfRegistrationRequest.Status.AWAITING)
_CONFIRMED_WAITING = _WAITING & Q(account__email_verified_at__isnull=False)
_UNCONFIRMED = _WAITING & Q(account__email_verified_at__isnull=True)


def self_registrations_awaiting_count() -> int:
    return _awaiting().count()


def _awaiting() -> QuerySet[SelfRegistrationRequest]:
    """Requests staff can act on: waiting, from an account whose owner confirmed the email. Until then
    the request is anyone's typing and cannot be authenticated (issue 12), so it neither fills the
    queue nor holds up a PIN as a possible duplicate."""
    return SelfRegistrationRequest.objects.filter(_CONFIRMED_WAITING)


class RequestStage(TextChoices):
    """Where a self-registration request stands, as the request list filters it."""

    AWAITING = "awaiting", "Awaiting authentication"
    UNCONFIRMED = "unconfirmed", "Email not confirmed yet"
    AUTHENTICATED = "authenticated", "Authenticated"
    DECLINED = "declined", "Declined"


def self_registrations_in_stage(stage: str = RequestStage.AWAITING) -> QuerySet[SelfRegistrationRequest]:
    """The request list: waiting ones oldest first (the queue staff work through), decided ones most
    recently decided first; every stage when `stage` is empty, newest first."""
    requests = SelfRegistrationRequest.objects.select_related("decided_by")
    if stage == RequestStage.AWAITING:
        return requests.filter(_CONFIRMED_WAITING).order_by("submitted_at", "pk")
    if stage == RequestStage.UNCONFIRMED:
        return requests.filter(_UNCONFIRMED).order_by("submitted_at", "pk")
    if stage in (RequestStage.AUTHENTICATED, RequestStage.DECLINED):
        return requests.filter(status=stage).order_by("-decided_at", "-pk")
    return requests.order_by("-submitted_at", "-pk")


@dataclass(frozen=True)
class RequestCounts:
    asked: int
    unconfirmed: int
    awaiting: int
    authenticated: int
    declined: int


def self_registration_counts() -> RequestCounts:
    """Self-registration requests by stage, now, in one query (a few per patient at most, unlike the
    patients' funnel, which the snapshot counts)."""
    status = SelfRegistrationRequest.Status
    counts = SelfRegistrationRequest.objects.aggregate(
        asked=Count("pk"),
        unconfirmed=Count("pk", filter=_UNCONFIRMED),
        awaiting=Count("pk", filter=_CONFIRMED_WAITING),
        authenticated=Count("pk", filter=Q(status=status.AUTHENTICATED)),
        declined=Count("pk", filter=Q(status=status.DECLINED)),
    )
    return RequestCounts(**counts)


# The patient list's filter beyond the three statuses: holding a PIN that ran out unused.
PIN_EXPIRED = "pin_expired"


def patient_search(text: str, *, status: str = "", now: datetime | None = None) -> QuerySet[Patient]:
    """Patients matching what staff typed: a name in parts and any order, an MRN, a date of birth,
    or a family contact's email or cell phone; optionally only those with one portal status, or
    `PIN_EXPIRED`."""
    now = now or timezone.now()
    queryset = patients_with_portal_status(now=now)
    text = " ".join(text.split())
    if status == PIN_EXPIRED:
        # Driven from the few expired PINs (an index-only scan), and whatever the status: asking for Not
        # registered too derived the status of every such patient, not of a page (126 ms at 100,000).
        queryset = queryset.filter(pk__in=pins_expired(now).values("patient_id"))
    elif status:
        queryset = queryset.filter(portal_status=status)
    if not text:
        # Every patient with a status: walking the name index in order stops after a page.
        return queryset.order_by("last_name", "first_name", "pk")
    # Sorted by the folded name, which has no index: PostgreSQL then always finds the matches through
    # their own indexes and sorts them, instead of walking all patients in name order (issue 11).
    return queryset.filter(_patient_match(text)).order_by("sort_name", "pk")


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m.%d.%Y")


def _patient_match(text: str) -> Q:
    for fmt in _DATE_FORMATS:
        try:
            return Q(date_of_birth=datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    if "@" in text:
        return Q(pk__in=PatientContact.objects.filter(contact__email__iexact=text).values("patient_id"))
    if sum(char.isdigit() for char in text) >= 7 and not any(char.isalpha() for char in text):
        number = phone_parse(text)
        if number and number.is_valid():
            return Q(
                pk__in=PatientContact.objects.filter(contact__cell_phone=number.as_e164).values("patient_id")
            )
    # Each word at the start of a word of the name, in any order, accents, case and apostrophes
    # ignored: "smi jo" finds Jordan Smith, "okeefe" O'Keefe, "lopez" María López-García.
    words = names.typed_words(text)
    if not words:
        return Q(mrn__iexact=text)
    by_name = Q()
    for word in words:
        by_name &= Q(search_name__contains=" " + word)
    return by_name | Q(mrn__iexact=text)


@dataclass
class ContactRow:
    """One family contact on a chart, with where they stand on the portal for this patient."""

    link: PatientContact  # annotated by `patient_chart` with its usable PIN and enabled access

    @property
    def contact(self) -> FamilyContact:
        return self.link.contact

    @property
    def registered_as(self) -> str | None:
        """The email of the enabled account that sees the patient through this contact."""
        return self.link.access_email

    @property
    def usable_pin(self) -> "UsablePin | None":
        link = self.link
        if link.pin_expires_at is None:
            return None
        return UsablePin(
            issued_at=link.pin_issued_at, expires_at=link.pin_expires_at, path=Path(link.pin_path)
        )


@dataclass(frozen=True)
class UsablePin:
    issued_at: datetime
    expires_at: datetime
    path: Path


@dataclass
class PatientChart:
    patient: Patient  # annotated with portal_status
    contacts: list[ContactRow]
    appointments: list[Appointment]
    messages: list[WelcomeMessage]
    history: list[AuditEvent]
    # Sign-ups waiting for staff that may be about this child or from a parent on the chart: shown
    # before anyone clicks Generate PIN, which would make that parent a second account.
    waiting_requests: list[SelfRegistrationRequest]


def patient_chart(patient_id: int, *, now: datetime | None = None, history_limit: int = 50) -> PatientChart:
    """Everything the chart page shows, in eight queries whatever the patient's history."""
    now = now or timezone.now()
    patient = patients_with_portal_status(now=now).get(pk=patient_id)
    # Each contact's usable PIN and enabled access as subqueries of the contacts' query: one query
    # where there were three.
    usable = pins_usable(now).filter(patient=patient, contact=OuterRef("contact_id")).order_by("-issued_at")
    access = PortalAccess.objects.filter(
        patient=patient, contact=OuterRef("contact_id"), account__disabled_at__isnull=True
    ).order_by("pk")
    links = (
        PatientContact.objects.filter(patient=patient)
        .select_related("contact")
        .annotate(
            pin_issued_at=Subquery(usable.values("issued_at")[:1]),
            pin_expires_at=Subquery(usable.values("expires_at")[:1]),
            pin_path=Subquery(usable.values("path")[:1]),
            access_email=Subquery(access.values("account__user__email")[:1]),
        )
        .order_by("pk")
    )
    contacts = [ContactRow(link) for link in links]
    return PatientChart(
        patient=patient,
        contacts=contacts,
        appointments=list(patient.appointments.order_by("-starts_at")[:20]),
        messages=list(
            WelcomeMessage.objects.filter(pin__patient=patient)
            .select_related("pin__contact")
            .order_by("-queued_at")[:10]
        ),
        history=list(
            AuditEvent.objects.filter(patient=patient)
            .select_related("actor", "contact")
            .order_by("-at", "-pk")[:history_limit]
        ),
        waiting_requests=list(
            self_registration_requests_matching(patient=patient, contacts=[row.contact for row in contacts])
        ),
    )


@dataclass
class Candidate:
    """A patient who may be the child a self-registration request names, and why."""

    patient: Patient  # annotated with portal_status, contact links prefetched
    score: int
    reasons: list[str]
    # The contact on this chart who entered the code sent to their phone or email on file.
    proved_contact_id: int | None = None
    # Contacts on this chart who already have a portal account (its email): authenticating the request
    # as one of them gives that parent a second account.
    accounts_of_contacts: dict[int, str] = field(default_factory=dict)


# More than a birth date alone: a name, the parent's confirmed email, or a code entered.
STRONG_MATCH = 5
# A code sent to the contact on file and entered by the parent outranks anything typed.
PROVED_BY_CODE = 10


def reconcile_candidates(
    request: SelfRegistrationRequest, *, limit: int = 10, proofs: list[EnrollmentCode] | None = None
) -> list[Candidate]:
    """Patients that may match the request, best first: a code sent to a contact on file and entered
    (`proofs`, read here unless given),
    date of birth, names, the parent's email once confirmed.

    What the parent typed proves nothing: an email counts only once its owner confirmed it, a phone
    never (no code goes to a typed phone). Ranked in SQL, so only the best `limit` are loaded. A
    patient who shares only the birth date is shown only when nobody matches better: in a large
    practice dozens of children share each birthday.
    """
    # Names compare folded, as staff search does: a parent typing "Lopez" means López.
    child_first, child_last = request.child_first_name, request.child_last_name
    proofs = {
        code.contact_id: code for code in (enrollment_code_proofs(request) if proofs is None else proofs)
    }
    by_email = Q(contact__email__iexact=request.parent_email) if request.account.email_verified_at else None
    by_proof = Q(contact_id__in=list(proofs)) if proofs else None
    evidence = [q for q in (by_email, by_proof) if q is not None]
    # One index lookup each, united: OR-ed in one WHERE, they made PostgreSQL read every patient.
    ids = (
        Patient.objects.filter(date_of_birth=request.child_date_of_birth)
        .values_list("pk")
        .union(
            Patient.objects.filter(sort_name=names.sort_name(child_first, child_last)).values_list("pk"),
            *[PatientContact.objects.filter(q).values_list("patient_id") for q in evidence],
        )
    )
    links = PatientContact.objects.filter(patient=OuterRef("pk"))
    score = (
        _points(Q(date_of_birth=request.child_date_of_birth), 3)
        + _points(Q(sort_name__startswith=f"{names.folded(child_last)} "), 2)
        + _points(Q(sort_name__endswith=f" {names.folded(child_first)}"), 2)
        + (_points(Exists(links.filter(by_email)), 3) if by_email else Value(0))
        + (_points(Exists(links.filter(by_proof)), PROVED_BY_CODE) if by_proof else Value(0))
    )
    patients = (
        patients_with_portal_status(Patient.objects.filter(pk__in=ids))
        .annotate(score=score)
        .order_by("-score", "last_name", "first_name", "pk")
        .prefetch_related(
            Prefetch("contact_links", PatientContact.objects.select_related("contact").order_by("pk"))
        )[:limit]
    )
    candidates = [_candidate(patient, request, proofs) for patient in patients]
    if candidates and candidates[0].score >= STRONG_MATCH:
        candidates = [c for c in candidates if c.score >= STRONG_MATCH]
    contact_ids = {link.contact_id for c in candidates for link in c.patient.contact_links.all()}
    accounts = dict(
        PortalAccess.objects.filter(contact_id__in=contact_ids, account__disabled_at__isnull=True)
        .exclude(account_id=request.account_id)
        .values_list("contact_id", "account__user__email")
    )
    for candidate in candidates:
        candidate.accounts_of_contacts = {
            link.contact_id: accounts[link.contact_id]
            for link in candidate.patient.contact_links.all()
            if link.contact_id in accounts
        }
    return candidates


def enrollment_code_wanted(account: PortalAccount) -> bool:
    """Whether to offer the account the sign-up code form: it has a waiting request, and no code it
    entered covers them all. Offered whether or not a code was sent, which is never said."""
    waiting = account.self_registrations.filter(status=SelfRegistrationRequest.Status.AWAITING)
    proved = EnrollmentCode.objects.filter(account=account, status=EnrollmentCode.Status.PROVED)
    return waiting.exclude(enrollment_codes__in=proved).exists()


def enrollment_code_proofs(request: SelfRegistrationRequest) -> list[EnrollmentCode]:
    """The codes sent to contacts on file that the parent entered, covering this request."""
    proved = request.enrollment_codes.filter(status=EnrollmentCode.Status.PROVED)
    return list(proved.select_related("contact").order_by("pk"))


def _points(condition, points: int) -> Case:
    return Case(When(condition, then=Value(points)), default=Value(0))


_PROVED_BY = {
    EnrollmentCode.Channel.SMS: "proved by a code sent to the {who}'s phone on file",
    EnrollmentCode.Channel.EMAIL: "proved by a code sent to the {who}'s email on file",
}


def _candidate(patient: Patient, request: SelfRegistrationRequest, proofs: dict) -> Candidate:
    reasons, score, proved_contact_id = [], 0, None
    for link in patient.contact_links.all():
        if (code := proofs.get(link.contact_id)) is not None and proved_contact_id is None:
            who = link.get_relationship_display().lower()
            reasons.append(_PROVED_BY[code.channel].format(who=who))
            score += PROVED_BY_CODE
            proved_contact_id = link.contact_id
    if patient.date_of_birth == request.child_date_of_birth:
        reasons.append("date of birth")
        score += 3
    if names.folded(patient.last_name) == names.folded(request.child_last_name):
        reasons.append("last name")
        score += 2
    if names.folded(patient.first_name) == names.folded(request.child_first_name):
        reasons.append("first name")
        score += 2
    contacts = [link.contact for link in patient.contact_links.all()]
    email = request.parent_email.casefold()
    if request.account.email_verified_at and any(c.email and c.email.casefold() == email for c in contacts):
        reasons.append("parent's confirmed email")
        score += 3
    return Candidate(patient=patient, score=score, reasons=reasons, proved_contact_id=proved_contact_id)


@dataclass
class DuplicatePair:
    """Two enabled portal accounts that are probably one parent."""

    first: PortalAccount
    second: PortalAccount
    reasons: list[str]

    @property
    def accounts(self) -> tuple[PortalAccount, PortalAccount]:
        return self.first, self.second


def duplicate_account_candidates(*, among: tuple[int, int] | None = None) -> list[tuple[int, int, list[str]]]:
    """Suspected duplicate accounts, as (account id, account id, reasons): two on one family contact,
    two with one cell phone, or a waiting self-registration from one that matches a child the other
    already sees.

    Over every account, a pass over every portal access and account (~100 ms at 100,000 patients): for
    the task that keeps the registration snapshot (registration/snapshots.py), not for a page. `among`
    two accounts, the same rule for that pair alone (`duplicate_account_reasons`).
    """
    reasons: dict[tuple[int, int], list[str]] = {}

    def note(a: int, b: int, reason: str) -> None:
        if a != b:
            reasons.setdefault((min(a, b), max(a, b)), []).append(reason)

    all_accesses, all_accounts = PortalAccess.objects.all(), PortalAccount.objects.all()
    all_requests = SelfRegistrationRequest.objects.all()
    if among is not None:
        all_accesses = all_accesses.filter(account_id__in=among)
        all_accounts = all_accounts.filter(pk__in=among)
        all_requests = all_requests.filter(account_id__in=among)
    enabled_accesses = all_accesses.filter(account__disabled_at__isnull=True)
    # Grouped without the join to accounts (an index-only scan); the few contacts found are then
    # checked against enabled accounts only.
    shared_contacts = (
        all_accesses.values("contact_id").annotate(n=Count("account_id", distinct=True)).filter(n__gt=1)
    )
    by_contact: dict[int, list[int]] = {}
    for row in enabled_accesses.filter(contact_id__in=shared_contacts.values("contact_id")).values(
        "contact_id", "account_id"
    ):
        by_contact.setdefault(row["contact_id"], []).append(row["account_id"])
    for accounts in by_contact.values():
        for other in accounts[1:]:
            note(accounts[0], other, "same family contact")

    enabled = all_accounts.filter(disabled_at__isnull=True).exclude(cell_phone="")
    shared_phones = (
        all_accounts.exclude(cell_phone="")
        .values("cell_phone")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values("cell_phone")
    )
    by_phone: dict[str, list[int]] = {}
    for pk, phone in enabled.filter(cell_phone__in=shared_phones).values_list("pk", "cell_phone"):
        by_phone.setdefault(phone, []).append(pk)
    for accounts in by_phone.values():
        for other in accounts[1:]:
            note(accounts[0], other, "same cell phone")

    # A waiting request naming a child (birth date and last name) whom another account already sees,
    # through a family contact with the request's email or cell phone. Driven from the few waiting
    # requests, each looked up by the child's birth date: never a pass over every access.
    sees_same_child = (
        enabled_accesses.filter(
            patient__date_of_birth=OuterRef("child_date_of_birth"),
            patient__last_name__iexact=OuterRef("child_last_name"),
        )
        .filter(
            Q(contact__email__iexact=OuterRef("parent_email"))
            | Q(contact__cell_phone=OuterRef("parent_cell_phone"), contact__cell_phone__gt="")
        )
        .exclude(account_id=OuterRef("account_id"))
    )
    if among is not None:
        sees_same_child = sees_same_child.filter(account_id__in=among)
    waiting = (
        all_requests.filter(status=SelfRegistrationRequest.Status.AWAITING, account__disabled_at__isnull=True)
        .annotate(other=Subquery(sees_same_child.values("account_id")[:1]))
        .filter(other__isnull=False)
        .values_list("account_id", "other")
    )
    for requester, other in waiting:
        note(requester, other, "waiting request for a child the other sees")

    return [(a, b, sorted(set(why))) for (a, b), why in sorted(reasons.items())]


def duplicate_account_reasons(first_id: int, second_id: int) -> list[str]:
    """Why the two accounts are suggested as one parent's (the duplicates page's rule); empty if not."""
    pairs = duplicate_account_candidates(among=(first_id, second_id))
    return pairs[0][2] if pairs else []


def duplicate_account_pairs(
    candidates: list[tuple[int, int, list[str]]], *, limit: int = 50
) -> list[DuplicatePair]:
    """The first `limit` candidate pairs whose accounts are both still enabled, with what staff compare."""
    # A few spare: an account disabled since the snapshot was taken drops its pairs from the page.
    ids = {pk for a, b, _ in candidates[: limit + 20] for pk in (a, b)}
    accounts = {
        a.pk: a
        for a in PortalAccount.objects.filter(pk__in=ids, disabled_at__isnull=True)
        .select_related("user")
        .prefetch_related(
            Prefetch("accesses", PortalAccess.objects.select_related("patient", "contact").order_by("pk")),
            Prefetch(
                "self_registrations",
                SelfRegistrationRequest.objects.filter(status=SelfRegistrationRequest.Status.AWAITING),
                to_attr="waiting_requests",
            ),
        )
    }
    pairs = [
        DuplicatePair(accounts[a], accounts[b], reasons)
        for a, b, reasons in candidates
        if a in accounts and b in accounts
    ]
    return pairs[:limit]


AUDIT_PATIENTS_AT_MOST = 20


def audit_patients_named(text: str) -> list[Patient]:
    """Patients the audit trail's Patient box names, read as patient search reads it: a name in parts,
    an MRN or a birth date. At most `AUDIT_PATIENTS_AT_MOST` + 1, so the page can say there are more."""
    match = _patient_match(" ".join(text.split()))
    return list(Patient.objects.filter(match).order_by("sort_name", "pk")[: AUDIT_PATIENTS_AT_MOST + 1])


@dataclass(frozen=True)
class AuditPeople:
    """Whoever an email address names in the audit trail: sign-in users (a parent or staff member who
    acted), their portal accounts (acted on), and family contacts on charts with that email."""

    user_ids: list[int]
    account_ids: list[int]
    contact_ids: list[int]

    def __bool__(self) -> bool:
        return bool(self.user_ids or self.contact_ids)


def audit_people_with_email(email: str) -> AuditPeople:
    """Users, accounts and family contacts with this email, in any case, in two indexed queries."""
    email = email.strip()
    # lower(email) is how the unique constraint indexes users' emails; contacts' have an UPPER index.
    users = list(
        User.objects.exclude(email="")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
        .values_list("pk", "portal_account")
    )
    return AuditPeople(
        user_ids=[user_id for user_id, _ in users],
        account_ids=[account_id for _, account_id in users if account_id is not None],
        contact_ids=list(FamilyContact.objects.filter(email__iexact=email).values_list("pk", flat=True)),
    )


def accounts_recently_disabled(*, limit: int = 10) -> list[PortalAccount]:
    """The accounts disabled last, newest first, with whom each was merged into: to enable one again."""
    return list(
        PortalAccount.objects.filter(disabled_at__isnull=False)
        .select_related("user", "disabled_by", "merged_into__user")
        .order_by("-disabled_at", "-pk")[:limit]
    )


def audit_events(
    *,
    patients: Iterable[Patient] | None = None,
    people: AuditPeople | None = None,
    actor_id: int | None = None,
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events, newest first; each filter given narrows them. Patients and people come found
    already (a handful of ids), so each filter is an index lookup however large the practice."""
    events = AuditEvent.objects.select_related("actor", "patient", "contact", "account__user")
    if patients is not None:
        events = events.filter(patient_id__in=[patient.pk for patient in patients])
    if people is not None:
        events = events.filter(
            Q(actor_id__in=people.user_ids)
            | Q(account_id__in=people.account_ids)
            | Q(contact_id__in=people.contact_ids)
        )
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if action:
        events = events.filter(action=action)
    if date_from is not None:
        events = events.filter(at__gte=timezone.make_aware(datetime.combine(date_from, time.min)))
    if date_to is not None:
        events = events.filter(
            at__lt=timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min))
        )
    return events.order_by("-at", "-pk")


# ---------------------------------------------------------------- parent portal


def portal_home(account: PortalAccount, *, now: datetime | None = None) -> dict:
    """What a parent's portal home shows: only the children this account may see, and its requests."""
    now = now or timezone.now()
    accesses = list(account.accesses.select_related("patient").order_by("patient__first_name", "pk"))
    upcoming: dict[int, list[Appointment]] = {}
    for appointment in (
        Appointment.objects.filter(patient_id__in=[a.patient_id for a in accesses], starts_at__gte=now)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("starts_at")
    ):
        upcoming.setdefault(appointment.patient_id, []).append(appointment)
    children = [(access.patient, upcoming.get(access.patient_id, [])[:3]) for access in accesses]
    # An authenticated request is the child on this portal, unless the practice added the child to the
    # parent's other account: then the request says which one.
    requests = list(
        account.self_registrations.exclude(
            status=SelfRegistrationRequest.Status.AUTHENTICATED, access__account=account
        )
        .select_related("access__account__user")
        .order_by("-submitted_at", "-pk")
    )
    return {"account": account, "children": children, "requests": requests}


def welcome_route(contact: FamilyContact) -> tuple[str, str] | None:
    """How a welcome message reaches a contact: (channel, address), by email if they have one, else by
    text; None if they have neither."""
    if contact.email:
        return WelcomeMessage.Channel.EMAIL, contact.email
    if contact.cell_phone:
        return WelcomeMessage.Channel.SMS, str(contact.cell_phone)
    return None


def first_reachable_links(patient_ids) -> dict[int, PatientContact]:
    """For each patient, the first family contact on the chart a welcome message can reach (one query)."""
    reachable: dict[int, PatientContact] = {}
    links = PatientContact.objects.filter(patient_id__in=patient_ids).select_related("contact").order_by("pk")
    for link in links:
        if link.patient_id not in reachable and welcome_route(link.contact):
            reachable[link.patient_id] = link
    return reachable


def enrollment_code_contacts(
    requests: list[SelfRegistrationRequest],
) -> dict[FamilyContact, list[SelfRegistrationRequest]]:
    """The family contacts on file that a sign-up's waiting requests name, each with the requests it
    matches: the child by folded name and birth date on an active chart, and the parent by name.

    Only these contacts' own phone or email may receive a code; what the parent typed never does.
    """
    matched: dict[FamilyContact, list[SelfRegistrationRequest]] = {}
    for request in requests:
        links = PatientContact.objects.filter(
            patient__sort_name=names.sort_name(request.child_first_name, request.child_last_name),
            patient__date_of_birth=request.child_date_of_birth,
            patient__active=True,
            patient__deceased=False,
        ).select_related("contact")
        for link in links:
            if _same_parent(link.contact, request.parent_first_name, request.parent_last_name):
                matched.setdefault(link.contact, []).append(request)
    return matched


def _same_parent(contact: FamilyContact, first_name: str, last_name: str) -> bool:
    """The typed name is the contact's: the same first word of the first name, and last names where one
    holds every word of the other ("García" for "García López", as many Spanish speakers shorten it)."""
    typed_first, file_first = names.folded(first_name).split(), names.folded(contact.first_name).split()
    typed_last, file_last = set(names.folded(last_name).split()), set(names.folded(contact.last_name).split())
    if not typed_first or not file_first or not typed_last or not file_last:
        return False
    return typed_first[0] == file_first[0] and (typed_last <= file_last or file_last <= typed_last)
