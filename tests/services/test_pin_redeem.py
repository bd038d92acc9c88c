"""Parents redeem a PIN with their child's date of birth, onto a new or an existing account."""

import datetime as dt

import pytest
from django.contrib.auth import authenticate

from accounts.models import User
from patients.models import Patient
from registration.models import (
    AccessRestriction,
    AuditEvent,
    Pin,
    PortalAccess,
    PortalAccount,
    PortalStatus,
    RegistrationPath,
)
from registration.pin_codes import pin_code_new, pin_parse
from registration.selectors import patient_portal_status
from registration.services.accounts import account_disable_duplicate
from registration.services.errors import (
    AccountDisabled,
    ChildAlreadyOnAccount,
    EmailInUse,
    PinAlreadyUsed,
    PinExpired,
    PinLocked,
    PinNoLongerUsable,
    PinNotAccepted,
    PinReplaced,
)
from registration.services.pin_redemption import pin_redeem
from registration.services.restrictions import restriction_create
from tests.factories import NewAccountFactory, PatientContactFactory

ONE_DAY = dt.timedelta(days=1)


def _redeem(issued, birth_date=None, **kwargs):
    if "account" not in kwargs and "new_account" not in kwargs:
        kwargs["new_account"] = NewAccountFactory()
    return pin_redeem(
        code=issued.code, child_birth_date=birth_date or issued.pin.patient.date_of_birth, **kwargs
    )


def _wrong_birth_date(issued):
    return issued.pin.patient.date_of_birth - ONE_DAY


def _assert_pin_live(pin: Pin):
    pin.refresh_from_db()
    assert pin.redeemed_at is None
    assert pin.revoked_at is None


def test_redeem_with_a_new_account_registers_the_patient(chart, issue_pin):
    issued = issue_pin(chart)
    assert patient_portal_status(chart.patient) == PortalStatus.PENDING
    now = issued.pin.issued_at + dt.timedelta(hours=3)

    access = pin_redeem(
        code=issued.code,
        child_birth_date=chart.patient.date_of_birth,
        new_account=NewAccountFactory(email="Mum@Example.org", password="a long enough pass phrase"),
        now=now,
        client_address="198.51.100.4",
    )

    assert (access.patient, access.contact, access.path, access.pin) == (
        chart.patient,
        chart.contact,
        RegistrationPath.CHART,
        issued.pin,
    )
    assert access.granted_at == now
    account = access.account
    assert account.created_at == now
    assert account.user.email == "Mum@example.org"
    assert authenticate(username="mum@example.org", password="a long enough pass phrase") == account.user
    issued.pin.refresh_from_db()
    assert (issued.pin.redeemed_at, issued.pin.redeemed_by) == (now, account)
    assert patient_portal_status(chart.patient) == PortalStatus.REGISTERED


def test_redeem_writes_one_audit_event_as_the_parent(chart, issue_pin):
    chart.patient.date_of_birth = dt.date(2021, 3, 9)  # a young child: parents see everything
    chart.patient.save(update_fields=["date_of_birth"])
    issued = issue_pin(chart)
    before = AuditEvent.objects.count()

    access = _redeem(issued, client_address="198.51.100.4")

    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.first()
    assert event.action == AuditEvent.Action.PIN_REDEEMED
    assert (event.actor, event.account) == (access.account.user, access.account)
    assert (event.patient, event.contact, event.path) == (chart.patient, chart.contact, "chart")
    assert event.client_address == "198.51.100.4"
    assert event.details == {
        "pin_id": issued.pin.pk,
        "access_id": access.pk,
        "account_created": True,
        "basis": "parent",
        "level": "full",
    }


def test_redeem_accepts_the_code_as_a_person_types_it(chart, issue_pin):
    issued = issue_pin(chart)
    typed = issued.code.lower().replace("-", " ").replace("0", "o").replace("1", "l")

    access = pin_redeem(
        code=typed, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory()
    )

    assert access.pin == issued.pin


def test_sibling_is_added_to_the_existing_account_with_a_second_pin(issue_pin, make_portal_account):
    older = PatientContactFactory()
    younger = PatientContactFactory(contact=older.contact)
    account = make_portal_account(older)
    users_before = User.objects.count()
    issued = issue_pin(younger)

    access = _redeem(issued, account=account)

    assert access.account == account
    assert set(account.accesses.values_list("patient", flat=True)) == {older.patient.pk, younger.patient.pk}
    assert User.objects.count() == users_before
    assert AuditEvent.objects.first().details["account_created"] is False
    assert patient_portal_status(younger.patient) == PortalStatus.REGISTERED


def test_two_parents_of_one_child_each_get_their_own_account(chart, issue_pin):
    father = PatientContactFactory(patient=chart.patient, relationship="father")
    mothers_pin, fathers_pin = issue_pin(chart), issue_pin(father)
    assert mothers_pin.code != fathers_pin.code

    mothers = _redeem(mothers_pin)
    fathers = _redeem(fathers_pin)

    assert mothers.account != fathers.account
    assert (mothers.contact, fathers.contact) == (chart.contact, father.contact)
    assert PortalAccess.objects.filter(patient=chart.patient).count() == 2


def test_status_goes_from_not_registered_to_pending_to_registered(chart, issue_pin):
    assert patient_portal_status(chart.patient) == PortalStatus.NOT_REGISTERED
    issued = issue_pin(chart)
    assert patient_portal_status(chart.patient) == PortalStatus.PENDING

    _redeem(issued)

    assert patient_portal_status(chart.patient) == PortalStatus.REGISTERED


@pytest.mark.parametrize("after_expiry", [dt.timedelta(0), dt.timedelta(seconds=1), dt.timedelta(days=30)])
def test_expired_pin_is_refused(chart, issue_pin, after_expiry):
    issued = issue_pin(chart)
    users_before = User.objects.count()

    with pytest.raises(PinExpired):
        _redeem(issued, now=issued.pin.expires_at + after_expiry)

    _assert_pin_live(issued.pin)
    assert User.objects.count() == users_before
    assert not PortalAccess.objects.exists()


def test_pin_is_accepted_until_the_moment_it_expires(chart, issue_pin):
    issued = issue_pin(chart)

    access = _redeem(issued, now=issued.pin.expires_at - dt.timedelta(microseconds=1))

    assert access.patient == chart.patient


def test_pin_replaced_by_a_newer_one_is_refused(chart, issue_pin):
    older = issue_pin(chart)
    newer = issue_pin(chart)

    with pytest.raises(PinReplaced):
        _redeem(older)

    assert not PortalAccess.objects.exists()
    assert _redeem(newer).pin == newer.pin


def test_pin_already_used_is_refused(chart, issue_pin):
    issued = issue_pin(chart)
    first = _redeem(issued)
    users_before = User.objects.count()

    with pytest.raises(PinAlreadyUsed):
        _redeem(issued)
    with pytest.raises(PinAlreadyUsed):
        _redeem(issued, account=first.account)

    assert User.objects.count() == users_before
    assert PortalAccess.objects.get() == first


def test_wrong_birth_date_is_not_accepted_and_counts_against_the_pin(chart, issue_pin):
    issued = issue_pin(chart)

    with pytest.raises(PinNotAccepted) as refused:
        _redeem(issued, _wrong_birth_date(issued), client_address="203.0.113.9")

    assert str(refused.value) == PinNotAccepted.message
    # The count was committed although the call raised.
    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == 1
    _assert_pin_live(issued.pin)
    event = AuditEvent.objects.first()
    assert event.action == AuditEvent.Action.PIN_REDEEM_FAILED
    assert (event.actor, event.patient, event.contact) == (None, chart.patient, chart.contact)
    assert event.client_address == "203.0.113.9"
    assert event.details == {"pin_id": issued.pin.pk, "failed_attempts": 1}
    assert not User.objects.filter(portal_account__isnull=False).exists()


def test_right_birth_date_after_some_wrong_ones_still_works(chart, issue_pin):
    issued = issue_pin(chart)
    for _ in range(4):
        with pytest.raises(PinNotAccepted):
            _redeem(issued, _wrong_birth_date(issued))

    access = _redeem(issued)

    assert access.pin == issued.pin


@pytest.mark.parametrize("max_attempts", [5, 3])
def test_pin_locks_after_the_maximum_wrong_tries(chart, issue_pin, settings, max_attempts):
    settings.PIN_MAX_FAILED_ATTEMPTS = max_attempts
    issued = issue_pin(chart)
    wrong = _wrong_birth_date(issued)
    for attempt in range(1, max_attempts):
        with pytest.raises(PinNotAccepted):
            _redeem(issued, wrong)
        issued.pin.refresh_from_db()
        assert issued.pin.failed_attempts == attempt

    with pytest.raises(PinLocked):
        _redeem(issued, wrong)

    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == max_attempts
    assert issued.pin.end_reason == Pin.EndReason.LOCKED
    assert issued.pin.revoked_at is not None
    actions = list(
        AuditEvent.objects.exclude(action=AuditEvent.Action.PIN_ISSUED).values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        [AuditEvent.Action.PIN_REDEEM_FAILED] * (max_attempts - 1) + [AuditEvent.Action.PIN_LOCKED]
    )
    assert patient_portal_status(chart.patient) == PortalStatus.NOT_REGISTERED


def test_locked_pin_is_refused_even_with_the_right_birth_date(chart, issue_pin):
    issued = issue_pin(chart)
    for _ in range(5):
        with pytest.raises((PinNotAccepted, PinLocked)):
            _redeem(issued, _wrong_birth_date(issued))
    events_before = AuditEvent.objects.count()

    with pytest.raises(PinLocked):
        _redeem(issued, _wrong_birth_date(issued))
    with pytest.raises(PinLocked):
        _redeem(issued)

    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == 5
    assert AuditEvent.objects.count() == events_before
    assert not PortalAccess.objects.exists()


def test_unknown_pin_gets_the_same_answer_as_a_wrong_birth_date(chart, issue_pin):
    issued = issue_pin(chart)

    with pytest.raises(PinNotAccepted) as unknown:
        pin_redeem(
            code=pin_code_new().display,
            child_birth_date=chart.patient.date_of_birth,
            new_account=NewAccountFactory(),
        )
    with pytest.raises(PinNotAccepted) as wrong_birth_date:
        _redeem(issued, _wrong_birth_date(issued))

    assert str(unknown.value) == str(wrong_birth_date.value) == PinNotAccepted.message


def test_wrong_secret_with_a_real_lookup_is_unknown_and_does_not_count(chart, issue_pin):
    issued = issue_pin(chart)
    parts = pin_parse(issued.code)
    other_secret = "".join("2" if c != "2" else "3" for c in parts.secret)

    with pytest.raises(PinNotAccepted) as refused:
        pin_redeem(
            code=parts.lookup + other_secret,
            child_birth_date=chart.patient.date_of_birth,
            new_account=NewAccountFactory(),
        )

    assert str(refused.value) == PinNotAccepted.message
    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == 0
    assert not AuditEvent.objects.exclude(action=AuditEvent.Action.PIN_ISSUED).exists()


@pytest.mark.parametrize("typed", ["", "7KQF-X82Z", "7KQF-X82Z-913U"])
def test_malformed_pin_is_not_accepted(chart, typed):
    with pytest.raises(PinNotAccepted):
        pin_redeem(code=typed, child_birth_date=chart.patient.date_of_birth, new_account=NewAccountFactory())


@pytest.mark.parametrize("spent", ["expired", "replaced", "used"])
def test_wrong_birth_date_on_a_spent_pin_reveals_nothing_and_does_not_count(chart, issue_pin, spent):
    issued = issue_pin(chart)
    now = None
    if spent == "expired":
        now = issued.pin.expires_at + ONE_DAY
    elif spent == "replaced":
        issue_pin(chart)
    else:
        _redeem(issued)

    with pytest.raises(PinNotAccepted) as refused:
        _redeem(issued, _wrong_birth_date(issued), now=now)

    assert str(refused.value) == PinNotAccepted.message
    issued.pin.refresh_from_db()
    assert issued.pin.failed_attempts == 0


@pytest.mark.parametrize("reason", [Pin.EndReason.RESTRICTED, Pin.EndReason.NOT_DELIVERED])
def test_a_pin_revoked_as_restricted_or_not_delivered_answers_as_an_unknown_pin_whatever_the_chart_says(
    chart, issue_pin, admin, reason
):
    """Even for a child the EHR has since marked deceased, which a live PIN's holder is told about: a
    restricted person learns nothing, and the PIN's secret is not even checked (issue 17)."""
    issued = issue_pin(chart)
    fathers = issue_pin(PatientContactFactory(patient=chart.patient, relationship="father"))
    if reason == Pin.EndReason.RESTRICTED:
        restriction_create(
            patient=chart.patient,
            contact=chart.contact,
            basis=AccessRestriction.Basis.COURT_ORDER,
            starts_on=chart.patient.date_of_birth,
            by=admin,
        )
    else:
        Pin.objects.filter(pk=issued.pin.pk).update(revoked_at=issued.pin.issued_at, end_reason=reason)
    Patient.objects.filter(pk=chart.patient.pk).update(deceased=True, deceased_on=dt.date(2024, 3, 2))
    events_before = AuditEvent.objects.count()

    with pytest.raises(PinNotAccepted) as refused:
        _redeem(issued)

    assert type(refused.value) is PinNotAccepted and str(refused.value) == PinNotAccepted.message
    assert AuditEvent.objects.count() == events_before
    with pytest.raises(PinNoLongerUsable):  # what a live PIN for the child answers
        _redeem(fathers)


def test_child_already_on_the_account_is_refused_and_the_pin_stays_unused(
    chart, issue_pin, make_portal_account
):
    account = make_portal_account(chart)
    father = PatientContactFactory(patient=chart.patient, relationship="father")
    fathers_pin = issue_pin(father)
    events_before = AuditEvent.objects.count()

    with pytest.raises(ChildAlreadyOnAccount):
        _redeem(fathers_pin, account=account)

    _assert_pin_live(fathers_pin.pin)
    assert account.accesses.count() == 1
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("typed_email", ["taken@example.net", "TAKEN@EXAMPLE.NET", "Taken@example.net"])
def test_new_account_with_an_email_in_use_is_refused_and_nothing_is_half_saved(
    issue_pin, make_portal_account, typed_email
):
    make_portal_account(email="taken@example.net")
    issued = issue_pin()
    counts_before = (User.objects.count(), PortalAccount.objects.count(), PortalAccess.objects.count())
    events_before = AuditEvent.objects.count()

    with pytest.raises(EmailInUse):
        _redeem(issued, new_account=NewAccountFactory(email=typed_email))

    assert (
        User.objects.count(),
        PortalAccount.objects.count(),
        PortalAccess.objects.count(),
    ) == counts_before
    # Said to the PIN's holder, so it spent one of the PIN's tries (issue 12, finding 8).
    assert AuditEvent.objects.count() == events_before + 1
    assert AuditEvent.objects.latest("pk").action == AuditEvent.Action.PIN_REDEEM_FAILED
    _assert_pin_live(issued.pin)
    assert issued.pin.failed_attempts == 1
    assert patient_portal_status(issued.pin.patient) == PortalStatus.PENDING


def test_new_account_with_a_staff_members_email_is_refused(staff, issue_pin):
    with pytest.raises(EmailInUse):
        _redeem(issue_pin(), new_account=NewAccountFactory(email=staff.email))


def test_disabled_account_is_refused(issue_pin, make_duplicate_accounts, admin):
    duplicate, kept = make_duplicate_accounts()
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")
    issued = issue_pin()

    with pytest.raises(AccountDisabled):
        _redeem(issued, account=duplicate)

    _assert_pin_live(issued.pin)
    assert not PortalAccess.objects.filter(patient=issued.pin.patient).exists()


@pytest.mark.parametrize("which", ["neither", "both"])
def test_redeem_needs_exactly_one_of_account_and_new_account(chart, issue_pin, make_portal_account, which):
    issued = issue_pin(chart)
    kwargs = (
        {} if which == "neither" else {"account": make_portal_account(), "new_account": NewAccountFactory()}
    )

    with pytest.raises(ValueError, match="exactly one"):
        pin_redeem(code=issued.code, child_birth_date=chart.patient.date_of_birth, **kwargs)
