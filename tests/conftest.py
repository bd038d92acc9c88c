import itertools
import os

import pytest
from django.apps import apps

from registration.models import PortalAccount, RegistrationPath
from registration.services.accounts import portal_account_verify_email
from registration.services.pin_redemption import pin_redeem
from registration.services.pins import IssuedPin, pin_issue
from tests.factories import NewAccountFactory, PatientContactFactory, StaffFactory, admin_user

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # sync Playwright runs an event loop


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']})"


def pytest_collection_modifyitems(config, items):
    """Run `postgres` tests only on PostgreSQL; in CI (REQUIRE_POSTGRES=1) refuse to skip them."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if on_postgres:
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL.")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def admin(db):
    """A practice admin: the role that disables duplicate accounts."""
    return admin_user()


@pytest.fixture
def chart(db):
    """A patient with one family contact on the chart."""
    return PatientContactFactory()


@pytest.fixture
def issue_pin(staff):
    """Issue a PIN as `staff` for a chart link (a new patient and contact if none is given)."""

    def issue(link=None, *, path=RegistrationPath.CHART, **kwargs) -> IssuedPin:
        link = link or PatientContactFactory()
        return pin_issue(patient=link.patient, contact=link.contact, path=path, by=staff, **kwargs)

    return issue


@pytest.fixture
def make_portal_account(issue_pin):
    """Make a parent's account the way parents do: redeem a PIN for `link` (or for a new chart), then
    confirm the email (unless `confirmed=False`: such an account cannot sign in).

    The account can see that link's patient, as that link's contact.
    """

    def make(link=None, *, confirmed=True, **account_fields) -> PortalAccount:
        link = link or PatientContactFactory()
        issued = issue_pin(link)
        access = pin_redeem(
            code=issued.code,
            child_birth_date=link.patient.date_of_birth,
            new_account=NewAccountFactory(**account_fields),
        )
        if confirmed:
            return portal_account_verify_email(account=access.account)
        return access.account

    return make


@pytest.fixture
def make_duplicate_accounts(make_portal_account):
    """Make two accounts the duplicates page pairs ("same cell phone"), one parent's who signed up twice.

    Each redeems a PIN for its link (or a new chart's), as `make_portal_account` does.
    """

    def make(first_link=None, second_link=None) -> tuple[PortalAccount, PortalAccount]:
        phone = f"+1312555{next(DUPLICATE_PHONES):04d}"
        first = make_portal_account(first_link, cell_phone=phone)
        return first, make_portal_account(second_link, cell_phone=phone)

    return make


DUPLICATE_PHONES = itertools.count(200)


@pytest.fixture
def stored_text(db):
    """Return a function that lists every non-null value in every table, as (table, column, text)."""

    def collect() -> list[tuple[str, str, str]]:
        found = []
        for model in apps.get_models(include_auto_created=True):
            fields = model._meta.concrete_fields
            for row in model._base_manager.values_list(*(f.attname for f in fields)):
                found += [(model._meta.db_table, f.column, str(v)) for f, v in zip(fields, row, strict=True)]
        return found

    return collect


# ---------------------------------------------------------------- welcome messages as parents get them
import json  # noqa: E402
import pathlib  # noqa: E402
import re  # noqa: E402

PIN_IN_TEXT = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


@pytest.fixture
def outbox_dir(settings, tmp_path):
    """Texts written by the outbox SMS backend go to a folder of this test's own."""
    settings.OUTBOX_DIR = tmp_path / "outbox"
    return settings.OUTBOX_DIR


@pytest.fixture
def sent_text(outbox_dir):
    """Return a function giving the text a welcome message was sent with: the last email to its
    address (`django.core.mail.outbox`), or its SMS in the outbox folder."""
    from django.conf import settings
    from django.core import mail

    from registration.models import WelcomeMessage

    def read(message) -> str:
        if message.channel == WelcomeMessage.Channel.SMS:
            path = pathlib.Path(settings.OUTBOX_DIR) / f"sms-{message.pk}.json"
            assert path.exists(), f"no text was sent for welcome message {message.pk}"
            return json.loads(path.read_text())["body"]
        sent = [email for email in mail.outbox if message.address in email.to]
        assert sent, f"no email was sent to {message.address}"
        return sent[-1].body

    return read


@pytest.fixture
def sent_pin(sent_text):
    """Return a function reading the PIN out of a sent welcome message, as the parent would.

    Send it first, e.g. `with django_capture_on_commit_callbacks(execute=True): welcome_invite(...)`.
    """

    def read(message) -> str:
        codes = PIN_IN_TEXT.findall(sent_text(message))
        assert len(codes) == 1, f"expected one PIN in the message, found {len(codes)}"
        return codes[0]

    return read
