"""Staff find a patient however the name is typed: accents, case, apostrophes, hyphens, word order.

These run on whichever database the suite uses (SQLite in the quick start, PostgreSQL in CI): the
folding happens in Python, so both answer alike.
"""

import json

import pytest
from django.db import connection, transaction

from bench import plans
from patients import names
from patients.models import Patient
from registration import selectors
from tests.factories import PatientFactory


@pytest.fixture
def practice(db):
    names_given = [
        ("María José", "López-García"),
        ("Iker", "Ordóñez"),
        ("Siobhán", "O'Keefe"),
        ("Thu", "Nguyễn"),
        ("Jordan", "Smith"),
        ("Ana", "De la Cruz"),
        ("Zoë", "Lopez"),
        ("Łukasz", "Øster"),
    ]
    return {last: PatientFactory(first_name=first, last_name=last) for first, last in names_given}


def found(text: str) -> list[str]:
    return [p.last_name for p in selectors.patient_search(text)]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("lopez", ["López-García", "Lopez"]),
        ("LÓPEZ", ["López-García", "Lopez"]),
        ("López", ["López-García", "Lopez"]),
        ("garcia", ["López-García"]),
        ("lopez-garcia", ["López-García"]),
        ("garcía lópez", ["López-García"]),
        ("maria jose", ["López-García"]),
        ("ordonez", ["Ordóñez"]),
        ("ORDÓÑEZ", ["Ordóñez"]),
        ("okeefe", ["O'Keefe"]),
        ("o'keefe", ["O'Keefe"]),
        ("O\u2019Keefe", ["O'Keefe"]),  # a typographic apostrophe, as phones type it
        ("keefe", ["O'Keefe"]),
        ("siobhan", ["O'Keefe"]),
        ("nguyen", ["Nguyễn"]),
        ("cruz", ["De la Cruz"]),
        ("de la cruz", ["De la Cruz"]),
        ("lukasz oster", ["Øster"]),
        ("zoe", ["Lopez"]),
        ("smi jo", ["Smith"]),
        ("jo smi", ["Smith"]),
    ],
)
def test_a_name_is_found_however_it_is_typed(practice, typed, expected):
    assert found(typed) == expected


def test_a_fragment_matches_only_at_the_start_of_a_word(practice):
    assert found("opez") == []
    assert found("mith") == []


def test_results_sort_by_the_folded_name_so_accents_do_not_move_a_patient(practice):
    """Ana López sorts with the Lopezes, not after Lozano as the raw bytes of "ó" would put her."""
    PatientFactory(first_name="Ada", last_name="Lozano")
    PatientFactory(first_name="Ana", last_name="López")
    assert found("lo") == ["López", "López-García", "Lopez", "Lozano"]


def test_a_renamed_patient_is_found_by_the_new_name(practice):
    patient = practice["Smith"]
    patient.last_name = "Muñoz"
    patient.save()
    assert found("munoz") == ["Muñoz"]
    assert found("smith") == []


def test_bulk_created_patients_are_folded_too(db):
    Patient.objects.bulk_create(
        [Patient(mrn="B1", first_name="Renée", last_name="Côté", date_of_birth="2020-01-01")]
    )
    assert found("renee cote") == ["Côté"]


def test_the_folding_rule():
    assert names.search_name("Siobhán", "O'Keefe-Núñez") == " SIOBHAN OKEEFE O KEEFE NUNEZ"
    assert names.sort_name("Siobhán", "O'Keefe-Núñez") == "OKEEFE NUNEZ SIOBHAN"
    assert names.typed_words(" o\u2019keefe,  NÚÑEZ ") == ["OKEEFE", "NUNEZ"]
    assert names.typed_words("'' - ") == []


def test_punctuation_alone_searches_nothing_but_mrns(practice):
    assert found("'") == []
    assert found("--") == []


@pytest.mark.postgres
def test_postgresql_finds_names_through_the_trigram_index_even_when_statistics_mislead(practice, db):
    """The name search never walks patients in name order and filters (issue 11's slow plan).

    Sorting by the unindexed folded name leaves PostgreSQL one way to find the matches: the trigram
    index. Here the planner is told the table is huge and sequential scans are off, as a bad ANALYZE
    sample would make it think; the plan must still read the trigram index.
    """
    queryset = selectors.patient_search("smi jo")[:26]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "patients_patient_search_name_trgm" in plan, plan
    assert "patients_patient_last_name_first_name" not in plan, plan


@pytest.mark.postgres
def test_the_prepared_name_search_keeps_to_the_trigram_index_without_the_typed_text(practice, db):
    """Parameters go apart from the SQL (server-side binding), so from its sixth run on a connection the
    search may run PostgreSQL's generic plan, made without knowing what was typed. That plan too must
    find the names through the trigram index, even with sequential scans priced out."""
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    queryset = selectors.patient_search("smi jo")[:26]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        generic = plans.explain_generic(queryset)
    found = plans.scans(generic)
    assert plans.through_trigram(found), found
    assert "$" in json.dumps(generic), "a plan made for the typed text, not the generic one"
