"""A welcome email or text from the appointment list, carrying a PIN minted when it is sent (path 2)."""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from patients.models import Appointment, FamilyContact, Patient
from registration.messaging.tasks import welcome_message_enqueue
from registration.models import (
    AuditEvent,
    RegistrationPath,
    WelcomeMessage,
)
from registration.services.audit import audit_record
from registration.services.errors import (
    InvalidAddress,
)
from registration.services.pins import pin_row_issue
from registration.services.restrictions import restriction_refuse
from registration.welcome_addresses import (
    CONTACT_FIELD,
    AddressInvalid,
    welcome_address_clean,
    welcome_address_on_chart,
)


def welcome_invite(
    *,
    patient: Patient,
    contact: FamilyContact,
    channel: WelcomeMessage.Channel,
    address: str,
    by: User,
    appointment: Appointment | None = None,
    duplicate_override_reason: str = "",
    replace_outstanding: bool = True,
    replacing_pin_id: int | None = None,
    now: datetime | None = None,
    client_address: str | None = None,
) -> WelcomeMessage:
    """Issue a PIN through the appointment list and queue a welcome email or text carrying it.

    The address is validated and, if staff corrected it, saved back to the contact. The message is
    recorded in the same transaction as the PIN, so neither exists without the other, and queued for
    sending once that transaction commits. Staff never see this PIN: its code is drawn only when the
    message is sent (`registration.messaging.welcome_outbox`), so it is never stored readable anywhere;
    until then the PIN row has no code, and nothing typed redeems it.
    """
    now = now or timezone.now()
    try:
        address = welcome_address_clean(channel, address)
    except AddressInvalid as error:
        raise InvalidAddress(str(error)) from error
    with transaction.atomic(durable=True):
        pin, details = pin_row_issue(
            patient=patient,
            contact=contact,
            path=RegistrationPath.APPOINTMENT_LIST,
            by=by,
            appointment=appointment,
            duplicate_override_reason=duplicate_override_reason,
            replace_outstanding=replace_outstanding,
            replacing_pin_id=replacing_pin_id,
            now=now,
            parts=None,
        )
        # The address typed may be a restricted person's, whoever the chart's contact is.
        restriction_refuse(
            patient_id=patient.pk, day=timezone.localdate(now), emails=[address], phones=[address]
        )
        if welcome_address_on_chart(pin.contact, channel) != address:
            field = CONTACT_FIELD[channel]
            FamilyContact.objects.filter(pk=contact.pk).update(**{field: address})
            details["contact_updated"] = field
        message = WelcomeMessage.objects.create(
            pin=pin,
            channel=channel,
            address=address,
            language=contact.preferred_language,
            queued_at=now,
        )
        details |= {"welcome_message_id": message.pk, "channel": channel}
        audit_record(
            action=AuditEvent.Action.WELCOME_QUEUED,
            at=now,
            actor=by,
            path=RegistrationPath.APPOINTMENT_LIST,
            patient=patient,
            contact=contact,
            client_address=client_address,
            details=details,
        )
        transaction.on_commit(partial(welcome_message_enqueue, message.pk))
    return message
