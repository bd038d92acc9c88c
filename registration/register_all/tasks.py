"""The task worker's side of Register all. Its only argument is the run's id."""

import logging

from django.tasks import task

from registration.models import RegisterAllItem
from registration.register_all.lifecycle import (
    register_all_claim,
    register_all_finish,
    register_all_item_failed,
    register_all_item_send,
)

log = logging.getLogger(__name__)


@task
def run_register_all(run_id: int) -> str:
    """Queue the welcome message of each patient of the run in turn, then mark the run done."""
    run = register_all_claim(run_id=run_id)
    if run is None:
        return "not queued"
    waiting = run.items.filter(outcome=RegisterAllItem.Outcome.WAITING).values_list("pk", flat=True)
    for item_id in list(waiting):
        try:
            register_all_item_send(item_id=item_id)
        except Exception:  # one patient's unexpected failure must not stop the others
            log.exception("register all %s: item %s failed", run_id, item_id)
            register_all_item_failed(item_id=item_id)
    register_all_finish(run_id=run_id)
    return "done"
