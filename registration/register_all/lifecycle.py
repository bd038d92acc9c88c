"""What becomes of a run once queued: claimed by the worker, each patient dealt with, finished.

Each function runs in one short transaction of its own and writes its audit event there; the welcome
messages themselves are issued by `welcome_invite`, each in its own transaction with its own event.
"""

from collections import Counter
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from registration.models import AuditEvent, PortalStatus, RegisterAllItem, RegisterAllRun
from registration.register_all.selectors import NO_CONTACT
from registration.selectors import first_reachable_links, patient_portal_status
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError
from registration.services.welcome_invites import welcome_invite
from registration.welcome_addresses import welcome_route

Stage, Outcome = RegisterAllRun.Stage, RegisterAllItem.Outcome


def register_all_claim(*, run_id: int, now: datetime | None = None) -> RegisterAllRun | None:
    """Mark a queued run as sending, for one worker only; None if it is not queued."""
    now = now or timezone.now()
    claimed = RegisterAllRun.objects.filter(pk=run_id, stage=Stage.QUEUED).update(
        stage=Stage.SENDING, updated_at=now
    )
    return RegisterAllRun.objects.select_related("started_by").get(pk=run_id) if claimed else None


def register_all_item_send(*, item_id: int, now: datetime | None = None) -> RegisterAllItem:
    """Queue the welcome message of one patient of a run, or record why they are skipped; count it done.

    The patient is looked at afresh: since the confirmation a PIN may have been given, the EHR may have
    marked the chart, or a contact changed. `welcome_invite` refuses a PIN that would replace one still
    valid, so a patient is never sent two messages by two runs.
    """
    item = RegisterAllItem.objects.select_related("run__started_by", "patient", "appointment").get(pk=item_id)
    if item.outcome != Outcome.WAITING:
        return item
    run, patient = item.run, item.patient
    message, skipped = None, ""
    if patient_portal_status(patient, now=now) != PortalStatus.NOT_REGISTERED:
        skipped = "Given a PIN or registered since the list was confirmed"
    elif (link := first_reachable_links([patient.pk]).get(patient.pk)) is None:
        skipped = NO_CONTACT
    else:
        channel, address = welcome_route(link.contact)
        try:
            message = welcome_invite(
                patient=patient,
                contact=link.contact,
                channel=channel,
                address=address,
                by=run.started_by,
                appointment=item.appointment,
                replace_outstanding=False,
                now=now,
                client_address=run.client_address,
            )
        except RegistrationError as error:  # deceased or inactive since, a possible duplicate, ...
            skipped = str(error)
    return _item_done(item, message=message, skipped=skipped, now=now or timezone.now())


def register_all_item_failed(*, item_id: int, now: datetime | None = None) -> None:
    """Record a patient whose turn failed unexpectedly as skipped, so the run goes on and says so."""
    item = RegisterAllItem.objects.get(pk=item_id)
    if item.outcome == Outcome.WAITING:
        _item_done(item, message=None, skipped=UNEXPECTED, now=now or timezone.now())


UNEXPECTED = "An unexpected error stopped this one (the task worker's log has it): use Register on the chart"


@transaction.atomic(durable=True)
def _item_done(item: RegisterAllItem, *, message, skipped: str, now: datetime) -> RegisterAllItem:
    item.outcome = Outcome.SKIPPED if skipped else Outcome.QUEUED
    item.message, item.skipped_reason = message, skipped[:300]
    item.save(update_fields=["outcome", "message", "skipped_reason"])
    RegisterAllRun.objects.filter(pk=item.run_id).update(done=F("done") + 1, updated_at=now)
    return item


def register_all_finish(*, run_id: int, now: datetime | None = None) -> None:
    """Mark the run done, with what it did in the audit trail."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        run = RegisterAllRun.objects.select_for_update().get(pk=run_id)
        if run.finished_at is None:
            run_finish(run, stage=Stage.DONE, now=now)


def run_finish(run: RegisterAllRun, *, stage: str, now: datetime) -> None:
    """Mark a run finished (done, or stopped by its lost worker); call holding its row locked."""
    run.stage, run.finished_at, run.updated_at = stage, now, now
    run.save(update_fields=["stage", "finished_at", "updated_at"])
    outcomes = Counter(run.items.values_list("outcome", flat=True))
    audit_record(
        action=AuditEvent.Action.REGISTER_ALL_FINISHED,
        at=now,
        actor=None,
        details={"run": run.pk, "day": run.day.isoformat(), "stage": stage}
        | {"queued": outcomes[Outcome.QUEUED], "skipped": outcomes[Outcome.SKIPPED]}
        | {"not_reached": outcomes[Outcome.WAITING]},
    )
