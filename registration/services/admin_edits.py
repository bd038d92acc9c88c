"""Changes made through the Django admin, in the audit trail."""

from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from patients.models import FamilyContact, Patient
from registration.models import AuditEvent, PortalAccount
from registration.services.audit import audit_record

LINKED = {Patient: "patient_id", FamilyContact: "contact_id", PortalAccount: "account_id"}
ADDED, CHANGED, DELETED = (
    AuditEvent.Action.ADMIN_ADDED,
    AuditEvent.Action.ADMIN_CHANGED,
    AuditEvent.Action.ADMIN_DELETED,
)


def admin_edit_record(
    *, action: AuditEvent.Action, obj: models.Model, change: list | str, by: User, client_address: str | None
) -> AuditEvent:
    """Record one add, change or delete made in the Django admin; call it in the admin's transaction.

    `change` is the message the admin writes to its own history: which fields (by their labels) and
    which inline rows changed, never their values, so a password field is named but never kept.
    """
    details = {"model": obj._meta.label_lower, "object_id": str(obj.pk), "object": str(obj)[:200]}
    details |= _changed(change)
    # A deleted row is not linked: the event would hold on to the row being deleted.
    links = {} if action == DELETED else _links(obj)
    with transaction.atomic():
        return audit_record(
            action=action,
            at=timezone.now(),
            actor=by,
            client_address=client_address,
            details=details,
            **links,
        )


def _changed(change: list | str) -> dict:
    """The admin's change message without the inline rows' names: fields, and inline rows by kind."""
    if not isinstance(change, list):
        return {}
    fields, inlines = [], []
    for entry in change:
        for what, about in entry.items():
            if "name" in about:  # an inline row: its kind, never its text
                inlines.append({what: about["name"], "fields": about.get("fields", [])})
            else:
                fields += about.get("fields", [])
    return {"fields": fields, "inlines": inlines}


def _links(obj: models.Model) -> dict:
    """The patient, contact and account the row is, or belongs to, so the audit trail finds it by them."""
    if type(obj) in LINKED:
        return {LINKED[type(obj)]: obj.pk}
    return {
        LINKED[field.related_model]: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.many_to_one and field.related_model in LINKED
    }
