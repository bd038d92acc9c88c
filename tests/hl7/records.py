"""What the feed wrote, counted: a message refused or repeated must leave these as they were."""

from patients.models import Appointment, FamilyContact, Patient, PatientContact
from registration.models import AuditEvent, FeedMessage

MODELS = (Patient, FamilyContact, PatientContact, Appointment, AuditEvent, FeedMessage)


def row_counts() -> dict[str, int]:
    return {model.__name__: model._base_manager.count() for model in MODELS}


def events_of(control: str) -> list[tuple[str, dict]]:
    """The audit events a message wrote, as (action, details)."""
    return list(
        AuditEvent.objects.filter(details__hl7=control).order_by("pk").values_list("action", "details")
    )
