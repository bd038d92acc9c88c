"""Rules about PIN rows shared by the operations that issue, redeem and revoke them."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from registration.models import Pin


def pin_expiry(issued_at: datetime) -> datetime:
    return issued_at + timedelta(days=settings.PIN_VALIDITY_DAYS)


def pins_live(queryset: QuerySet[Pin] | None = None) -> QuerySet[Pin]:
    """PINs neither redeemed nor revoked (an expired one is still 'live' until something replaces it)."""
    queryset = Pin.objects.all() if queryset is None else queryset
    return queryset.filter(redeemed_at__isnull=True, revoked_at__isnull=True)


def pins_revoke(queryset: QuerySet[Pin], *, reason: Pin.EndReason, now: datetime) -> list[int]:
    """Revoke the live PINs among `queryset` (locking them first); return their ids for the audit trail."""
    ids = list(pins_live(queryset).select_for_update().values_list("pk", flat=True))
    Pin.objects.filter(pk__in=ids).update(revoked_at=now, end_reason=reason)
    return ids
