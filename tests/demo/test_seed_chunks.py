"""The seed's chunks: statements that do not grow with the families, statistics kept up, indexes as found."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patients.bulk_insert import gin_batched
from patients.models import Patient
from registration import pin_codes as codes
from registration.demo import bulk, families
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

# The tables the foreign-key checks of a chunk's rows read.
REFERENCED = {
    "patients_patient",
    "patients_familycontact",
    "accounts_user",
    "registration_portalaccount",
    "registration_pin",
}
TRIGRAM_INDEX = "patients_patient_search_name_trgm"


@pytest.fixture
def context(fresh_tables):
    return bulk.BulkContext(
        today=timezone.localdate(),
        issued_by_id=StaffFactory().pk,
        password_hash="argon2$not-a-real-hash",  # nobody signs in here
        pin_hash=codes.pin_secret_hash(codes.pin_code_new()),
        validity_days=settings.PIN_VALIDITY_DAYS,
    )


@pytest.fixture
def fresh_tables():
    """Empty tables as in a fresh database, whatever earlier tests left (a rolled-back insert leaves its
    pages, which would count as growth already analyzed); rolled back with the test."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(sorted(REFERENCED))} CASCADE")


def described(first: int, count: int, today) -> list[families.Family]:
    """`count` bulk families from the `first`-th on, as the seed makes them up."""
    outlines = [o for o in families.outlines(3_000) if o.number > families.SHOWCASE_FAMILIES]
    return [families.family_describe(o, today) for o in outlines[first : first + count]]


def chunk_write(chunk: list[families.Family], context) -> list[str]:
    """Write a chunk; return the statements it sent through Django (COPY goes past the count)."""
    with CaptureQueriesContext(connection) as queries:
        bulk.families_write(chunk, context)
    return [q["sql"] for q in queries.captured_queries]


def analyzed(statements: list[str]) -> set[str]:
    return {sql.removeprefix("ANALYZE ").strip('"') for sql in statements if sql.startswith("ANALYZE")}


def test_four_times_the_families_cost_a_chunk_no_more_statements(context):
    """Every table takes its rows in one statement (COPY on PostgreSQL): nothing is sent row by row."""
    small = chunk_write(described(0, 100, context.today), context)
    large = chunk_write(described(100, 400, context.today), context)
    assert Patient.objects.count() > 600
    assert len([s for s in large if not s.startswith("ANALYZE")]) == len(
        [s for s in small if not s.startswith("ANALYZE")]
    )


@pytest.mark.postgres
def test_tables_a_chunk_doubles_are_analyzed_before_its_foreign_keys_are_checked(context):
    """The checks run at commit with plans made from the statistics: stale ones (an empty table) made
    every check read the whole table, and the seed grew quadratically."""
    first = chunk_write(described(0, 100, context.today), context)
    assert analyzed(first) >= REFERENCED
    doubled = chunk_write(described(100, 400, context.today), context)
    assert analyzed(doubled) >= REFERENCED
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'patients_patient'")
        assert cursor.fetchone()[0] == Patient.objects.count()

    grown_a_little = chunk_write(described(500, 50, context.today), context)
    assert not analyzed(grown_a_little)  # a table is analyzed about log2(growth) times, not per chunk


@pytest.mark.postgres
def test_the_trigram_index_is_left_as_it_was_with_nothing_pending(context):
    bulk.families_write(described(0, 200, context.today), context)
    assert _trigram_options() == ["fastupdate=off"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [TRIGRAM_INDEX])
        assert cursor.fetchone()[0] == 0  # searches never read a pending list
    assert Patient.objects.filter(search_name__contains=Patient.objects.last().search_name).exists()

    with pytest.raises(RuntimeError), gin_batched(Patient):
        assert _trigram_options() == ["fastupdate=on"]
        raise RuntimeError("a failed load")
    assert _trigram_options() == ["fastupdate=off"]


def _trigram_options() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TRIGRAM_INDEX])
        return cursor.fetchone()[0]
