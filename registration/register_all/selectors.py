"""Reads for Register all: who on a day's list would get a welcome message, and a run's page."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from patients.models import PatientContact
from registration.models import PortalStatus, RegisterAllItem, RegisterAllRun, WelcomeMessage
from registration.selectors import (
    first_reachable_link_rows,
    first_reachable_links,
    links_with_waiting_requests,
)
from registration.services.invitation_rules import invitation_refusal
from registration.welcome_addresses import welcome_route

NO_CONTACT = "No family contact with an email or cell phone"
# Said on the plan, so the count on the button is who will really be sent to: the run would refuse them.
WAITING_REQUEST = "A parent's sign-up that may be theirs is waiting: authenticate it from Requests"
# A run not updated for this long has lost its worker: it no longer holds back another of its day.
STALE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class PlanRow:
    """One not-registered patient of the day, at their first appointment: to whom their welcome
    message would go, or why they are skipped."""

    patient_id: int
    name: str  # "Last, First"
    appointment_id: int
    starts_at: datetime
    link: PatientContact | None = None
    channel: str = ""
    address: str = ""
    skipped: str = ""  # why nobody is sent to

    @property
    def sends(self) -> bool:
        return not self.skipped

    @property
    def address_display(self) -> str:
        """The address as the message's page will show it (a cell phone in national format)."""
        return WelcomeMessage(channel=self.channel, address=self.address).address_display

    @property
    def channel_label(self) -> str:
        return WelcomeMessage.Channel(self.channel).label if self.channel else ""


def register_all_plan(rows: list[dict]) -> list[PlanRow]:
    """Who Register all would send to among a day's rows (`appointment_rows_for_day`), in the list's
    order, and who it would skip and why. Registered and Pending patients are left out: they have a
    portal or a PIN. Two queries: the contacts, and the waiting sign-ups that would hold a message back."""
    plan = []
    for row, link, skipped in _decisions(rows, first_reachable_links):
        common = {
            "patient_id": row["patient_id"],
            "name": f"{row['patient__last_name']}, {row['patient__first_name']}",
            "appointment_id": row["pk"],
            "starts_at": row["starts_at"],
        }
        if skipped:
            plan.append(PlanRow(**common, skipped=skipped))
        else:
            channel, address = welcome_route(link.contact)
            plan.append(PlanRow(**common, link=link, channel=channel, address=address))
    return plan


@dataclass(frozen=True)
class PlanCount:
    sends: int  # patients Register all would send to
    not_registered: int  # patients of the day not registered, sent to or skipped


def register_all_count(rows: list[dict]) -> PlanCount:
    """The numbers of `register_all_plan`, decided by the same steps with the contacts read as ids and
    addresses only: what the dashboard's button says."""
    decisions = _decisions(rows, first_reachable_link_rows)
    return PlanCount(sends=sum(not skipped for _, _, skipped in decisions), not_registered=len(decisions))


def _decisions(rows: list[dict], reachable_links) -> list[tuple[dict, object, str]]:
    """For each not-registered patient of the day, at their first row: (row, the link a message would go
    to, "") or (row, None, why they are skipped). `reachable_links` is `first_reachable_links` or its
    lean form: each patient's link, with a `pk`."""
    first: dict[int, dict] = {}
    for row in rows:
        if row["portal_status"] == PortalStatus.NOT_REGISTERED and row["patient_id"] not in first:
            first[row["patient_id"]] = row  # one message per patient, not per appointment
    refusals = {
        patient_id: invitation_refusal(
            active=row["patient__active"],
            deceased=row["patient__deceased"],
            deceased_on=row["patient__deceased_on"],
        )
        for patient_id, row in first.items()
    }
    invitable = [patient_id for patient_id, refusal in refusals.items() if refusal is None]
    reachable = reachable_links(invitable) if invitable else {}
    held = links_with_waiting_requests(link.pk for link in reachable.values()) if reachable else set()
    decisions = []
    for patient_id, row in first.items():
        if (refusal := refusals[patient_id]) is not None:  # said before "no contact": it matters more
            decisions.append((row, None, str(refusal)))
        elif (link := reachable.get(patient_id)) is None:
            decisions.append((row, None, NO_CONTACT))
        elif link.pk in held:
            decisions.append((row, None, WAITING_REQUEST))
        else:
            decisions.append((row, link, ""))
    return decisions


def register_all_running(day, *, now: datetime | None = None) -> RegisterAllRun | None:
    """The run of `day` still going, if any (at most one: a constraint says so). A run not updated for
    `STALE_AFTER` has lost its worker: the button is offered again, and starting marks it stopped."""
    run = RegisterAllRun.objects.filter(day=day, finished_at__isnull=True).first()
    return None if run is None or register_all_ended(run, now=now) else run


def register_all_ended(run: RegisterAllRun, *, now: datetime | None = None) -> bool:
    """Whether there is nothing more to watch: the run finished, or its worker stopped (`STALE_AFTER`)."""
    return run.finished or run.updated_at <= (now or timezone.now()) - STALE_AFTER


def register_all_run(run_id: int) -> RegisterAllRun | None:
    return RegisterAllRun.objects.select_related("started_by").filter(pk=run_id).first()


# What each row of a run's summary says, from its welcome message's status as it is now.
WAITING_TO_SEND = "Queued: waiting to send"
SENT = "Sent"
NOT_SENT = "Not sent"
SKIPPED = "Skipped"
NOT_REACHED = "Not reached"
_HEADINGS = {
    WelcomeMessage.Status.QUEUED: WAITING_TO_SEND,
    WelcomeMessage.Status.SENDING: WAITING_TO_SEND,
    WelcomeMessage.Status.RETRYING: WAITING_TO_SEND,
    WelcomeMessage.Status.SENT: SENT,
    WelcomeMessage.Status.DELIVERED: SENT,
}


@dataclass(frozen=True)
class SummaryRow:
    item: RegisterAllItem
    result: str  # "Queued: waiting to send", "Sent", "Not sent", "Skipped", "Not reached"
    detail: str = ""  # the message's status, or why the patient was skipped


@dataclass(frozen=True)
class RunSummary:
    run: RegisterAllRun
    rows: list[SummaryRow]

    @property
    def counts(self) -> dict[str, int]:
        results = [row.result for row in self.rows]
        pairs = (("sent", SENT), ("waiting", WAITING_TO_SEND), ("not_sent", NOT_SENT), ("skipped", SKIPPED))
        return {key: results.count(result) for key, result in (*pairs, ("not_reached", NOT_REACHED))}

    @property
    def groups(self) -> list[tuple[str, list[SummaryRow]]]:
        """The rows under a heading each, in the order staff act on them: failures first."""
        order = [NOT_SENT, WAITING_TO_SEND, SENT, SKIPPED, NOT_REACHED]
        grouped = [(heading, [row for row in self.rows if row.result == heading]) for heading in order]
        return [(heading, rows) for heading, rows in grouped if rows]


def register_all_summary(run: RegisterAllRun) -> RunSummary:
    """Each patient of a run with what became of them, the welcome messages read as they are now
    (two queries)."""
    rows = []
    for item in _items(run):
        if item.outcome == RegisterAllItem.Outcome.SKIPPED:
            rows.append(SummaryRow(item, SKIPPED, item.skipped_reason))
        elif item.outcome == RegisterAllItem.Outcome.WAITING:
            rows.append(SummaryRow(item, NOT_REACHED, "The run stopped before this patient."))
        else:
            message = item.message
            detail = message.get_status_display() + (f": {message.last_error}" if message.last_error else "")
            rows.append(SummaryRow(item, _HEADINGS.get(message.status, NOT_SENT), detail))
    return RunSummary(run=run, rows=rows)


def _items(run: RegisterAllRun) -> QuerySet[RegisterAllItem]:
    return run.items.select_related("patient", "message", "message__pin__contact")
