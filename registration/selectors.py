"""Reads of registration state. Portal status is derived here, and only here."""

from datetime import datetime

from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.lookups import IsNull
from django.utils import timezone

from patients.models import FamilyContact, Patient
from registration.models import Pin, PortalAccess, PortalStatus, SelfRegistrationRequest


def portal_status_expression(now: datetime) -> Case:
    """The portal status of the patient in the outer query, as one SQL expression.

    Registered: an enabled account can see the patient. Pending: an unused, unexpired PIN exists.
    Scalar subqueries (rather than EXISTS in the select list) stay index lookups on large tables.
    """
    access = PortalAccess.objects.filter(patient=OuterRef("pk"), account__disabled_at__isnull=True)
    live_pin = Pin.objects.filter(
        patient=OuterRef("pk"), redeemed_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    return Case(
        When(IsNull(Subquery(access.values("pk")[:1]), False), then=Value(PortalStatus.REGISTERED.value)),
        When(IsNull(Subquery(live_pin.values("pk")[:1]), False), then=Value(PortalStatus.PENDING.value)),
        default=Value(PortalStatus.NOT_REGISTERED.value),
        output_field=CharField(),
    )


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
    *, patient: Patient | None = None, contact: FamilyContact | None = None
) -> QuerySet[SelfRegistrationRequest]:
    """Waiting self-registration requests that may be from this contact or about this patient.

    A match is the child's date of birth with either name, or the parent's email or cell phone.
    """
    match = Q()
    if patient is not None:
        match |= Q(child_date_of_birth=patient.date_of_birth) & (
            Q(child_last_name__iexact=patient.last_name) | Q(child_first_name__iexact=patient.first_name)
        )
    if contact is not None and contact.email:
        match |= Q(parent_email__iexact=contact.email)
    if contact is not None and contact.cell_phone:
        match |= Q(parent_cell_phone=contact.cell_phone)
    if not match:
        return SelfRegistrationRequest.objects.none()
    return (
        SelfRegistrationRequest.objects.filter(match, status=SelfRegistrationRequest.Status.AWAITING)
        .select_related("account__user")
        .order_by("submitted_at")
    )
