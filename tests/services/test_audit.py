"""The audit trail: append-only, and never a place where a PIN or a password is written down."""

import datetime as dt
import io
import json
import re
from contextlib import suppress

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from registration.ehr_import import services as import_runs
from registration.ehr_import.importing import import_file
from registration.ehr_import.tasks import run_import
from registration.hl7_feed.services import message_receive
from registration.messaging import account_email_outbox as account_emails
from registration.messaging import welcome_outbox as services_welcome
from registration.messaging.account_email_requests import parent_email_queue
from registration.messaging.tasks import send_welcome_message
from registration.models import (
    AccessBasis,
    AccessLevel,
    AppendOnlyError,
    AuditEvent,
    FeedMessage,
    ParentAccountEmail,
    RegistrationPath,
    WelcomeMessage,
)
from registration.pin_codes import pin_parse
from registration.register_all.services import register_all_start
from registration.services.access_changes import access_basis_change, restriction_document_read
from registration.services.accounts import (
    account_disable_duplicate,
    account_reenable,
    portal_account_verify_email,
)
from registration.services.audit import audit_record
from registration.services.birthdays import access_birthdays_run
from registration.services.enrollment_codes import enrollment_code_prove
from registration.services.errors import RegistrationError
from registration.services.feed_messages import feed_message_read
from registration.services.patient_merges import patient_merge
from registration.services.pin_redemption import pin_redeem
from registration.services.restrictions import restriction_create, restriction_lift
from registration.services.self_registration import (
    ChildDetails,
    self_registration_authenticate,
    self_registration_decline,
    self_registration_reopen,
    self_registration_submit,
)
from registration.services.teen_accounts import parent_level_record_in_person, teen_contact_add
from registration.services.welcome_invites import welcome_invite
from tests.conftest import PIN_IN_TEXT
from tests.factories import (
    AppointmentFactory,
    ChildDetailsFactory,
    NewAccountFactory,
    PatientContactFactory,
    confirmed_self_registration,
)

AT = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def event(chart, staff):
    return audit_record(
        action=AuditEvent.Action.PIN_ISSUED,
        at=AT,
        actor=staff,
        path=RegistrationPath.CHART,
        patient=chart.patient,
        contact=chart.contact,
        details={"pin_id": 1},
    )


def _assert_unchanged(event):
    stored = AuditEvent.objects.values("action", "at", "details", "actor", "patient").get(pk=event.pk)
    assert stored == {
        "action": event.action,
        "at": AT,
        "details": {"pin_id": 1},
        "actor": event.actor_id,
        "patient": event.patient_id,
    }


def test_new_events_can_be_written(event):
    assert AuditEvent.objects.get() == event


def test_saving_an_existing_event_is_refused(event):
    event.details = {"pin_id": 2}

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["details"])

    _assert_unchanged(event)


def test_a_new_instance_cannot_overwrite_an_event_by_reusing_its_id(event):
    forged = AuditEvent(
        pk=event.pk, action=AuditEvent.Action.ACCOUNT_DISABLED, at=AT, details={"forged": True}
    )

    with pytest.raises(AppendOnlyError), transaction.atomic():
        forged.save()

    _assert_unchanged(event)


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()

    _assert_unchanged(event)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda qs: qs.update(details={}), id="update"),
        pytest.param(
            lambda qs: qs.filter(action="pin_issued").update(action="pin_redeemed"), id="filtered update"
        ),
        pytest.param(lambda qs: qs.delete(), id="delete"),
        pytest.param(lambda qs: qs.filter(at__lte=AT).delete(), id="filtered delete"),
        pytest.param(
            lambda qs: qs.bulk_update([AuditEvent(pk=qs.get().pk, details={})], ["details"]), id="bulk"
        ),
        pytest.param(
            lambda qs: qs.bulk_create(
                [AuditEvent(pk=qs.get().pk, action="pin_redeemed", at=AT, details={})],
                update_conflicts=True,
                unique_fields=["id"],
                update_fields=["action", "details"],
            ),
            id="upsert",
        ),
    ],
)
def test_queryset_changes_are_refused(event, change):
    with pytest.raises(AppendOnlyError), transaction.atomic():
        change(AuditEvent.objects.all())

    _assert_unchanged(event)


def test_manager_update_and_delete_are_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(details={})
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()

    _assert_unchanged(event)


PASSWORDS = [
    "first parent's pass phrase",
    "second parent's pass phrase",
    "refused parent's pass phrase",
    "a new pass phrase set in the admin",
]
PARENTS_PHONE = "+13125550193"


class SmsProviderDownOnce:
    """A text provider that fails its first send with an error quoting the text, as some do."""

    bodies: list[str] = []

    def send(self, *, to: str, body: str, reference: str) -> str:
        type(self).bodies.append(body)
        if len(type(self).bodies) == 1:
            raise RuntimeError(f"provider unavailable while sending {body!r}")
        return f"SM{reference}"


def test_no_audit_event_holds_a_pin_or_a_password(
    staff, admin, issue_pin, stored_text, settings, django_capture_on_commit_callbacks, tmp_path
):
    """Go through every kind of audited change, then read the whole audit trail for secrets."""
    settings.SMS_BACKEND = f"{__name__}.SmsProviderDownOnce"
    settings.WELCOME_RETRY_BASE_SECONDS = 0
    SmsProviderDownOnce.bodies = []
    codes = []
    eldest = PatientContactFactory()
    younger = PatientContactFactory(contact=eldest.contact)

    first = issue_pin(eldest)
    codes.append(first.code)
    for _ in range(5):  # four failures, then the lock
        with suppress(RegistrationError):
            pin_redeem(
                code=first.code,
                child_birth_date=eldest.patient.date_of_birth - dt.timedelta(days=1),
                new_account=NewAccountFactory(password=PASSWORDS[2]),
            )
    second = issue_pin(eldest)
    codes.append(second.code)
    access = pin_redeem(
        code=second.code.lower(),
        child_birth_date=eldest.patient.date_of_birth,
        new_account=NewAccountFactory(password=PASSWORDS[0], cell_phone=PARENTS_PHONE),
    )
    # A welcome text: the first attempt fails (the provider's error quotes the text), the retry is
    # sent, the provider reports it delivered, and the parent uses the PIN it carried.
    with django_capture_on_commit_callbacks(execute=True):
        invited = welcome_invite(
            patient=younger.patient,
            contact=younger.contact,
            channel=WelcomeMessage.Channel.SMS,
            address="(202) 555-0142",
            by=staff,
        )
    assert send_welcome_message.call(invited.pk) == "sent"
    invited.refresh_from_db()
    services_welcome.welcome_message_provider_report(
        channel=WelcomeMessage.Channel.SMS,
        provider_message_id=invited.provider_message_id,
        outcome="delivered",
    )
    codes += [PIN_IN_TEXT.search(body).group() for body in SmsProviderDownOnce.bodies]
    pin_redeem(code=codes[-1], child_birth_date=younger.patient.date_of_birth, account=access.account)
    # A welcome message whose PIN staff replaced before it went out is not sent.
    replaced = PatientContactFactory()
    not_sent = welcome_invite(
        patient=replaced.patient,
        contact=replaced.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=replaced.contact.email,
        by=staff,
    )
    codes.append(issue_pin(replaced).code)
    assert send_welcome_message.call(not_sent.pk) == "not due"
    with suppress(RegistrationError):  # refused: the email is taken
        pin_redeem(
            code=issue_pin().code,
            child_birth_date=dt.date(2020, 1, 1),
            new_account=NewAccountFactory(email=access.account.email, password=PASSWORDS[2]),
        )

    requests = confirmed_self_registration(
        children=ChildDetailsFactory.build_batch(2),
        new_account=NewAccountFactory(password=PASSWORDS[1], cell_phone=PARENTS_PHONE),  # a duplicate
    )
    third = PatientContactFactory()
    self_registration_authenticate(
        request=requests[0], patient=third.patient, contact=third.contact, by=staff
    )
    self_registration_decline(request=requests[1], reason="no_match", by=staff)
    portal_account_verify_email(account=access.account)  # only a confirmed account is kept
    account_disable_duplicate(
        duplicate=requests[0].account, keep=access.account, by=admin, reason="Signed up twice"
    )
    # Both undone: the admin disabled the account by mistake, staff declined its request by mistake.
    account_reenable(account=requests[0].account, by=admin)
    self_registration_reopen(request=requests[1], by=staff)
    # A welcome email whose sender died mid-send: it may or may not have gone out.
    stuck = PatientContactFactory()
    maybe_sent = welcome_invite(
        patient=stuck.patient,
        contact=stuck.contact,
        channel=WelcomeMessage.Channel.EMAIL,
        address=stuck.contact.email,
        by=staff,
    )
    claimed = services_welcome.welcome_message_claim(message_id=maybe_sent.pk)
    codes.append(claimed.code)
    assert services_welcome.welcome_message_maybe_sent(
        message_id=maybe_sent.pk, claimed_at=claimed.message.sending_since
    )
    # A Register all of today's list, run at once by the tests' task queue.
    listed = PatientContactFactory()
    AppointmentFactory(patient=listed.patient, starts_at=timezone.localtime().replace(hour=9, minute=0))
    with django_capture_on_commit_callbacks(execute=True):
        register_all_start(day=timezone.localdate(), by=staff)
    # Emails about the parent's account: a password reset is sent; another one fails for good.
    with django_capture_on_commit_callbacks(execute=True):
        parent_email_queue(account=access.account, kind=ParentAccountEmail.Kind.PASSWORD_RESET)
    tokens = [mail.outbox[-1].body.split("/password-reset/")[1].split("/")[1]]
    # The first parent's 'confirm your email', queued with the account, is not sent: it was confirmed since.
    [confirm] = ParentAccountEmail.objects.filter(account=access.account, kind=ParentAccountEmail.Kind.VERIFY)
    assert account_emails.parent_email_claim(email_id=confirm.pk) is None
    settings.PARENT_EMAIL_MAX_ATTEMPTS = 1
    late = PatientContactFactory()  # a parent who registers and has yet to confirm the email
    late_pin = issue_pin(late)
    codes.append(late_pin.code)
    unconfirmed = pin_redeem(
        code=late_pin.code, child_birth_date=late.patient.date_of_birth, new_account=NewAccountFactory()
    ).account
    unsent = parent_email_queue(account=unconfirmed, kind=ParentAccountEmail.Kind.VERIFY)
    account_emails.parent_email_claim(email_id=unsent.pk)
    assert account_emails.parent_email_attempt_failed(email_id=unsent.pk, error="ESP is unavailable") is None
    # The parent signs in, after a wrong password, and out; an admin sets a staff password in the Django
    # admin, and adds and deletes a staff group there.
    browser, email = Client(), access.account.user.email
    browser.post(reverse("portal:sign-in"), {"username": email, "password": PASSWORDS[1]})
    browser.post(reverse("portal:sign-in"), {"username": email, "password": PASSWORDS[0]})
    browser.post(reverse("portal:sign-out"))
    browser.force_login(User.objects.create_superuser("superuser", "superuser@example.org", PASSWORDS[1]))
    new_password = {"password1": PASSWORDS[3], "password2": PASSWORDS[3], "usable_password": "true"}
    browser.post(reverse("admin:auth_user_password_change", args=[staff.pk]), new_password)
    browser.post(reverse("admin:auth_group_add"), {"name": "Night desk"})
    night_desk = Group.objects.get(name="Night desk")
    browser.post(reverse("admin:auth_group_delete", args=[night_desk.pk]), {"post": "yes"})
    # The EHR sends a new email address for a contact.
    moved = PatientContactFactory(contact__email="old.address@example.org")
    header = "mrn,patient_first_name,patient_last_name,date_of_birth,contact_first_name,contact_last_name"
    row = [moved.patient.mrn, moved.patient.first_name, moved.patient.last_name]
    row += [moved.patient.date_of_birth.isoformat(), moved.contact.first_name, moved.contact.last_name]
    export = f"{header},relationship,email\n{','.join(row)},{moved.relationship},new.address@example.org\n"
    export += "Z9001,Nueva,Niña,2020-01-01,Ana,Niña,mother,ana.nina@example.org\n"  # a new child and parent
    import_file(io.BytesIO(export.encode()), name="patients.csv", dry_run=False, by=admin)
    # The Import page: a file replaced by another before it was checked; the other checked and imported.
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"
    export += "Z9002,Lía,Niña,2021-02-02,Ana,Niña,mother,ana.nina@example.org\n"  # a sister: new to import
    import_runs.import_run_start(upload=SimpleUploadedFile("first.csv", export.encode()), by=admin)
    preview = import_runs.import_run_start(upload=SimpleUploadedFile("second.csv", export.encode()), by=admin)
    assert run_import.call(preview.pk) == "done"
    assert run_import.call(import_runs.import_run_confirm(preview_id=preview.pk, by=admin).pk) == "done"

    # A sign-up naming a child on file, by the contact: a code goes to the contact's phone on file. The
    # parent mistypes it once, then enters it.
    known = PatientContactFactory(contact__cell_phone="+12025550177")
    child = ChildDetails(known.patient.first_name, known.patient.last_name, known.patient.date_of_birth)
    with django_capture_on_commit_callbacks(execute=True):
        [asked] = self_registration_submit(
            children=[child],
            new_account=NewAccountFactory(
                first_name=known.contact.first_name, last_name=known.contact.last_name
            ),
        )
    enrollment_code = re.search(r"\b\d{6}\b", SmsProviderDownOnce.bodies[-1]).group()
    with suppress(RegistrationError):
        enrollment_code_prove(account=asked.account, code=str(999999 - int(enrollment_code)).zfill(6))
    enrollment_code_prove(account=asked.account, code=enrollment_code)

    # Who may see a child: a teen's own contact, and their choice told to staff; the mother's access kept
    # past majority; the father restricted by an order (his access ends), his try with the grandmother's
    # PIN refused, the order read and lifted; a 12th birthday's notice to a parent.
    today, settings.RESTRICTION_DOCUMENT_DIR = timezone.localdate(), str(tmp_path / "restrictions")
    teen = PatientContactFactory(patient__date_of_birth=today.replace(year=today.year - 15, day=1))
    father, grandma = (
        PatientContactFactory(patient=teen.patient, relationship=r) for r in ("father", "grandparent")
    )
    issued = [issue_pin(link) for link in (teen, father, grandma)]
    codes += [i.code for i in issued]
    born = teen.patient.date_of_birth
    mother_access, father_access = (
        pin_redeem(code=i.code, child_birth_date=born, new_account=NewAccountFactory()) for i in issued[:2]
    )
    teen_contact_add(patient=teen.patient, email="ana.own@example.net", cell_phone="", by=staff)
    parent_level_record_in_person(patient=teen.patient, level=AccessLevel.NONE, by=staff)
    access_basis_change(access=mother_access, basis=AccessBasis.ADULT_CONSENT, by=admin, note="Ana consents")
    order = SimpleUploadedFile("order.pdf", b"%PDF-1.7 sole custody")
    restriction = restriction_create(
        patient=teen.patient,
        contact=father.contact,
        basis="court_order",
        starts_on=today,
        by=admin,
        document=order,
    )
    with suppress(RegistrationError):
        pin_redeem(code=issued[2].code, child_birth_date=born, account=father_access.account)
    restriction_document_read(restriction=restriction, by=admin).close()
    restriction_lift(restriction=restriction, by=admin, reason="Order vacated")
    turning_twelve = PatientContactFactory(
        patient__date_of_birth=today.replace(year=today.year - 12) + dt.timedelta(days=10)
    )
    twelve_pin = issue_pin(turning_twelve)
    codes.append(twelve_pin.code)
    pin_redeem(
        code=twelve_pin.code,
        child_birth_date=turning_twelve.patient.date_of_birth,
        new_account=NewAccountFactory(),
    )
    duplicate = PatientContactFactory(patient__date_of_birth=turning_twelve.patient.date_of_birth)
    codes.append(issue_pin(duplicate).code)  # a live PIN the merge carries to the surviving chart
    with transaction.atomic():
        patient_merge(
            survivor=turning_twelve.patient,
            merged=duplicate.patient,
            now=timezone.now(),
            details={"hl7": "A40"},
        )
    access_birthdays_run()
    fed = message_receive(
        b"MSH|^~\\&|EPIC|PEDS|||20261201||ADT^A08|AUDIT1|P|2.5.1\rPID|1||F100^^^PEDS^MR||Rivera^Maya||20190412|F\r"
    )
    assert fed.outcome == "applied"
    feed_message_read(message_id=FeedMessage.objects.get(control_id="AUDIT1").pk, by=admin)

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert actions == set(AuditEvent.Action.values), "every kind of event is covered"
    secrets = [p.upper() for p in PASSWORDS] + [token.upper() for token in tokens] + [enrollment_code]
    for code in codes:
        secrets += [code, code.replace("-", ""), pin_parse(code).secret]
    for event in AuditEvent.objects.all():
        text = (
            json.dumps(event.details).upper()
            + " "
            + " ".join(str(getattr(event, f.attname)).upper() for f in AuditEvent._meta.concrete_fields)
        )
        assert not [s for s in secrets if s in text], event.get_action_display()
    failed = AuditEvent.objects.get(action=AuditEvent.Action.WELCOME_SEND_FAILED)
    assert "[PIN]" in failed.details["error"], "the provider's echo of the PIN is scrubbed"
    # Nor anywhere else: passwords are stored only as hashes.
    stored = " ".join(value.upper() for _, _, value in stored_text())
    assert not [p for p in PASSWORDS if p.upper() in stored]
