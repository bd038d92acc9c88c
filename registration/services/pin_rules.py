"""Rules about PIN rows shared by the operations that issue, redeem and revoke them."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from registration.models import Pin
from registration.selectors import pins_live
from registration.statistics.tallies import statuses_refresh


def pin_expiry(issued_at: datetime) -> datetime:
    return issued_at + timedelta(days=settings.PIN_VALIDITY_DAYS)


def pins_revoke(queryset: QuerySet[Pin], *, reason: Pin.EndReason, now: datetime) -> list[int]:
    """Revoke the live PINs among `queryset` (locking them first); return their ids for the audit trail."""
    owners = dict(pins_live(queryset).select_for_update().values_list("pk", "patient_id"))
    ids = list(owners)
    if ids:
        Pin.objects.filter(pk__in=ids).update(revoked_at=now, end_reason=reason)
        statuses_refresh(owners.values())
    return ids
