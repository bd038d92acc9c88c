"""A child's portal status, derived here and only here, and the PINs that decide it."""

from datetime import datetime

from django.db.models import (
    Case,
    CharField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.lookups import IsNull
from django.utils import timezone

from patients.models import Patient
from registration.models import (
    Pin,
    PortalAccess,
    PortalStatus,
)


def portal_status_expression(now: datetime, patient_ref: str = "pk") -> Case:
    """The portal status of the outer query's patient (its id at `patient_ref`), as one SQL expression.

    Registered: an enabled account can see the patient. Pending: an unused, unexpired PIN exists.
    Scalar subqueries (rather than EXISTS in the select list) stay index lookups on large tables.
    """
    access = accesses_enabled().filter(patient=OuterRef(patient_ref))
    live_pin = pins_usable(now).filter(patient=OuterRef(patient_ref))
    return Case(
        When(IsNull(Subquery(access.values("pk")[:1]), False), then=Value(PortalStatus.REGISTERED.value)),
        When(IsNull(Subquery(live_pin.values("pk")[:1]), False), then=Value(PortalStatus.PENDING.value)),
        default=Value(PortalStatus.NOT_REGISTERED.value),
        output_field=CharField(),
    )


def accesses_enabled() -> QuerySet[PortalAccess]:
    """Live accesses through accounts not disabled: each makes its patient Registered."""
    return PortalAccess.objects.filter(account__disabled_at__isnull=True)


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
