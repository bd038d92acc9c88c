"""What a parent sees at home on the portal."""

from datetime import datetime

from django.utils import timezone

from patients.models import Appointment
from registration.models import (
    PortalAccount,
    SelfRegistrationRequest,
)


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
