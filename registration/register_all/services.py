"""What staff do: start a Register all of a day, after its confirmation page."""

from datetime import date, datetime
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from registration.models import AuditEvent, RegisterAllItem, RegisterAllRun
from registration.register_all.lifecycle import run_finish
from registration.register_all.selectors import STALE_AFTER, register_all_plan
from registration.register_all.tasks import run_register_all
from registration.selectors import appointment_rows_for_day
from registration.services.audit import audit_record
from registration.services.errors import RegistrationError

Stage = RegisterAllRun.Stage


class NothingToRegister(RegistrationError):
    message = "Nobody on this day's list can be sent a welcome message now. Nothing was sent."


class RegisterAllRunning(RegistrationError):
    message = "Register all is already running for this day: its progress is shown instead."

    def __init__(self, run: RegisterAllRun):
        super().__init__()
        self.run = run


def register_all_start(
    *, day: date, by: User, client_address: str | None = None, now: datetime | None = None
) -> RegisterAllRun:
    """Record a Register all of `day` and queue it for the task worker; return the run.

    The patients are those the confirmation page listed, as the list stands now. A run of the same day
    still going is refused with `RegisterAllRunning` (a partial unique constraint decides when two
    start at once); one whose worker stopped is marked stopped first.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic(durable=True):
            running = RegisterAllRun.objects.select_for_update().filter(day=day, finished_at__isnull=True)
            for run in running:
                if run.updated_at > now - STALE_AFTER:
                    raise RegisterAllRunning(run)
                run_finish(run, stage=Stage.STOPPED, now=now)
            plan = register_all_plan(appointment_rows_for_day(day, now=now))
            if not any(row.sends for row in plan):
                raise NothingToRegister()
            run = RegisterAllRun.objects.create(
                day=day,
                started_by=by,
                client_address=client_address,
                total=len(plan),
                created_at=now,
                updated_at=now,
            )
            RegisterAllItem.objects.bulk_create(
                RegisterAllItem(
                    run=run, position=i, patient_id=row.patient_id, appointment_id=row.appointment_id
                )
                for i, row in enumerate(plan)
            )
            audit_record(
                action=AuditEvent.Action.REGISTER_ALL_STARTED,
                at=now,
                actor=by,
                client_address=client_address,
                details={"run": run.pk, "day": day.isoformat(), "patients": len(plan)}
                | {"to_send": sum(row.sends for row in plan)},
            )
            transaction.on_commit(partial(run_register_all.enqueue, run.pk))
    except IntegrityError as error:
        if "register_all_one_running" not in str(error):
            raise
        # Another Register all of the day was recorded between our look and our insert.
        raise RegisterAllRunning(RegisterAllRun.objects.get(day=day, finished_at__isnull=True)) from error
    return run
