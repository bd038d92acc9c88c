"""The import finds stored rows by the EHR's identifiers and MRNs through indexes, a list of 2,000 at a
time: reading the whole table for each list made a large import's save grow with the table."""

import pytest
from django.db import connection

from patients.models import Appointment, FamilyContact, Patient
from tests.factories import AppointmentFactory, FamilyContactFactory

IMPORT_LIST = [f"urn:oid:1.2.3|RP{n}" for n in range(2000)]  # as many as the store asks for at once


def plan(queryset) -> str:
    """The plan with sequential scans priced out: a table read whole here means no index could serve."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


@pytest.mark.django_db
def test_rows_are_found_by_their_identifiers_and_a_blank_one_finds_nothing():
    parent = FamilyContactFactory(source_id="urn:oid:1.2.3|RP7")
    FamilyContactFactory(source_id="")
    visit = AppointmentFactory(source_id="A-1")
    AppointmentFactory(source_id="")

    assert list(FamilyContact.objects.with_source_ids(["urn:oid:1.2.3|RP7", ""])) == [parent]
    assert list(Appointment.objects.with_source_ids(["A-1", "", "A-2"])) == [visit]


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_list_of_identifiers_is_looked_up_in_the_unique_index_of_the_non_blank_ones():
    found = plan(FamilyContact.objects.with_source_ids(IMPORT_LIST))
    assert "contact_source_id_unique" in found, found[:300]
    assert "appointment_source_id_unique" in plan(Appointment.objects.with_source_ids(IMPORT_LIST))
    # Why the method exists: over 100 values, PostgreSQL cannot tell the list holds no blank one.
    assert "contact_source_id_unique" not in plan(FamilyContact.objects.filter(source_id__in=IMPORT_LIST))


@pytest.mark.django_db
def test_mrns_without_their_system_have_an_index_that_starts_with_the_mrn():
    """A CSV or an HL7 v2 message names an MRN without the system that assigned it. An index led by
    the system can only be read whole for those (the plan still names it, so the columns are checked)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Patient._meta.db_table)
    assert constraints["patient_mrn_unique"]["columns"][0] == "mrn"


@pytest.mark.django_db
def test_in_list_finds_what_in_finds_with_one_parameter_on_postgresql():
    parents = [FamilyContactFactory(source_id=f"RP{n}") for n in range(3)]
    wanted = ["RP0", "RP2", None, "RP9"]

    by_list = FamilyContact.objects.filter(source_id__in_list=wanted).order_by("pk")
    assert list(by_list) == list(FamilyContact.objects.filter(source_id__in=wanted).order_by("pk"))
    assert list(by_list) == [parents[0], parents[2]]
    assert list(FamilyContact.objects.filter(pk__in_list=[parents[1].pk])) == [parents[1]]
    assert not FamilyContact.objects.filter(source_id__in_list=[]).exists()
    if connection.vendor == "postgresql":
        sql, params = by_list.query.sql_with_params()
        assert "= ANY(%s)" in sql and params == (["RP0", "RP2", "RP9"],)
