"""Staff reopen a self-registration request declined by mistake: it waits again, as if never decided."""

import datetime as dt

import pytest

from registration import selectors
from registration.models import AuditEvent, SelfRegistrationRequest
from registration.services.accounts import account_disable_duplicate
from registration.services.errors import AccountDisabled, RequestAskedAgain, RequestNotDeclined
from registration.services.self_registration import (
    self_registration_authenticate,
    self_registration_decline,
    self_registration_reopen,
    self_registration_submit,
)
from tests.factories import ChildDetailsFactory, NewAccountFactory, confirmed_self_registration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
Status = SelfRegistrationRequest.Status


@pytest.fixture
def declined(staff):
    [request] = confirmed_self_registration(children=[ChildDetailsFactory()], new_account=NewAccountFactory())
    return self_registration_decline(
        request=request, reason="details_differ", note="The birth date differs.", by=staff, now=NOW
    )


def test_reopening_puts_the_request_back_in_the_queue_undecided(declined, staff):
    reopened = self_registration_reopen(request=declined, by=staff)

    reopened.refresh_from_db()
    assert reopened.status == Status.AWAITING
    assert (reopened.decided_by, reopened.decided_at) == (None, None)
    assert (reopened.decline_reason, reopened.decline_note) == ("", "")


def test_the_parent_no_longer_sees_the_decline(declined, staff):
    self_registration_reopen(request=declined, by=staff)

    [shown] = selectors.portal_home(declined.account)["requests"]
    assert shown.status == Status.AWAITING and shown.decline_reason == ""


def test_reopening_is_audited_with_the_decision_it_undid(declined, staff, admin):
    self_registration_reopen(request=declined, by=admin, now=NOW, client_address="192.0.2.7")

    event = AuditEvent.objects.get(action=AuditEvent.Action.SELF_REGISTRATION_REOPENED)
    assert (event.actor, event.account_id, event.at, event.client_address) == (
        admin,
        declined.account_id,
        NOW,
        "192.0.2.7",
    )
    assert event.details == {
        "request_id": declined.pk,
        "undone": {
            "declined_by_id": staff.pk,
            "declined_at": NOW.isoformat(),
            "reason": "details_differ",
            "note": "The birth date differs.",
        },
    }
    # The decline's own event stays: the trail shows both.
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_DECLINED).count() == 1


def test_a_request_reopened_already_is_refused(declined, staff):
    self_registration_reopen(request=declined, by=staff)

    with pytest.raises(RequestNotDeclined):
        self_registration_reopen(request=declined, by=staff)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SELF_REGISTRATION_REOPENED).count() == 1


def test_a_waiting_request_cannot_be_reopened(staff):
    [waiting] = confirmed_self_registration(children=[ChildDetailsFactory()], new_account=NewAccountFactory())

    with pytest.raises(RequestNotDeclined):
        self_registration_reopen(request=waiting, by=staff)


@pytest.mark.parametrize("then", ["waiting", "authenticated"])
def test_reopening_is_refused_when_the_parent_asked_for_the_child_again(declined, staff, chart, then):
    """Two requests for one child would get two answers: the newer one is the one to decide."""
    child = ChildDetailsFactory(
        first_name=declined.child_first_name.upper(),
        last_name=declined.child_last_name,
        date_of_birth=declined.child_date_of_birth,
    )
    [again] = self_registration_submit(children=[child], account=declined.account)
    if then == "authenticated":
        self_registration_authenticate(request=again, patient=chart.patient, contact=chart.contact, by=staff)

    with pytest.raises(RequestAskedAgain):
        self_registration_reopen(request=declined, by=staff)
    declined.refresh_from_db()
    assert declined.status == Status.DECLINED


def test_reopening_is_refused_while_the_account_is_disabled(declined, staff, admin, make_portal_account):
    duplicate = declined.account
    kept = make_portal_account(cell_phone="+13125550177")
    duplicate.cell_phone = "+13125550177"
    duplicate.save(update_fields=["cell_phone"])
    account_disable_duplicate(duplicate=duplicate, keep=kept, by=admin, reason="Signed up twice")

    with pytest.raises(AccountDisabled, match="Enable it again"):
        self_registration_reopen(request=declined, by=staff)
    declined.refresh_from_db()
    assert declined.status == Status.DECLINED
