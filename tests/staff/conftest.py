import datetime as dt

import pytest
from django.utils import timezone

from tests.factories import NewAccountFactory, PatientContactFactory, StaffFactory, admin_user


@pytest.fixture
def front_desk_client(client, db):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def admin_client(client, db):
    client.force_login(admin_user())
    return client


@pytest.fixture
def practice_in_every_state(db):
    """`make(staff, each=n)`: n patients in each state the Statistics page counts, made through the
    services: Not registered with no PIN, Not registered with a PIN that expired, Pending, Registered."""

    def make(staff, *, each: int = 1) -> dict[str, list]:
        from registration.services.pin_redemption import pin_redeem
        from registration.services.pins import pin_issue

        now = timezone.now()
        made: dict[str, list] = {"not_registered": [], "pin_expired": [], "pending": [], "registered": []}
        for _ in range(each):
            for state in made:
                link = PatientContactFactory()
                made[state].append(link.patient)
                if state == "not_registered":
                    continue
                issued_at = now - dt.timedelta(days=60) if state == "pin_expired" else now
                issued = pin_issue(
                    patient=link.patient, contact=link.contact, path="chart", by=staff, now=issued_at
                )
                if state == "registered":
                    pin_redeem(
                        code=issued.code,
                        child_birth_date=link.patient.date_of_birth,
                        new_account=NewAccountFactory(),
                    )
        return made

    return make
