"""An admin imports a FHIR export through the Import page, run by the task worker, and finds the child
by typing the name without its accents."""

import json

import pytest
from playwright.sync_api import Page, expect

from patients.models import FamilyContact, Patient
from registration.models import ImportRun
from tests.browser.pages import DESKTOP, horizontal_overflow, nav, row
from tests.task_queue import db_worker_batch

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:iker",
            "resource": {
                "resourceType": "Patient",
                "id": "iker",
                "identifier": [{"type": MR, "system": "urn:oid:1.2.3.4.mrn", "value": "ORD-2041"}],
                "name": [{"use": "official", "family": "Ordóñez", "given": ["Iker"]}],
                "gender": "male",
                "birthDate": "2020-06-14",
            },
        },
        {
            "fullUrl": "urn:uuid:amaia",
            "resource": {
                "resourceType": "RelatedPerson",
                "id": "amaia",
                "identifier": [{"system": "urn:oid:1.2.3.4.contact", "value": "RP-2041"}],
                "patient": {"reference": "Patient/iker"},
                "relationship": [
                    {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}
                        ]
                    }
                ],
                "name": [{"family": "Ordóñez", "given": ["Amaia"]}],
                "telecom": [
                    {"system": "email", "value": "amaia.ordonez@example.org"},
                    {"system": "phone", "use": "mobile", "value": "(202) 555-0187"},
                ],
            },
        },
    ],
}


@pytest.fixture
def task_worker(settings, tmp_path):
    """The production task queue, with `run()` standing in for `manage.py db_worker`."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"

    return db_worker_batch


def test_admin_imports_a_fhir_bundle_and_finds_the_child_without_accents(
    page: Page, live_server, sign_in, practice_admin, task_worker, snap, settings
):
    # The page asks for progress every second. Its requests wait in the browser while the worker runs
    # in this thread: Playwright answers a route only when the test calls it, so the live server and
    # the worker never use SQLite's one shared test connection at once.
    page.route("**/staff/import/*/progress/", lambda route: route.continue_())
    sign_in(page, practice_admin, screenshot=False)
    nav(page).get_by_role("link", name="Import").click()
    page.get_by_label("Export file").set_input_files(
        files=[
            {"name": "ordonez.json", "mimeType": "application/json", "buffer": json.dumps(BUNDLE).encode()}
        ]
    )
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="Checking the file", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Waiting for the task worker")
    both_sizes(page, snap, "queued")
    run = ImportRun.objects.get()
    # Part-way, as the worker writes it: the script shows the numbers without reloading the page.
    ImportRun.objects.filter(pk=run.pk).update(stage="saving", done=1, total=2)
    expect(page.get_by_text("1 of 2 records")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Comparing with the records already here")
    expect(page.locator("progress")).to_have_attribute("value", "1")
    both_sizes(page, snap, "progress")
    ImportRun.objects.filter(pk=run.pk).update(stage="queued", done=0, total=0)

    task_worker()
    expect(page.get_by_role("heading", name="Import preview")).to_be_visible()
    expect(row(page, "Patients")).to_contain_text("1")
    expect(page.get_by_role("button", name="Import these records")).to_be_visible()
    assert not Patient.objects.exists()
    both_sizes(page, snap, "preview")

    page.get_by_role("button", name="Import these records").click()
    expect(page.get_by_role("heading", name="Importing", level=1)).to_be_visible()
    both_sizes(page, snap, "importing")
    task_worker()
    expect(page.get_by_role("heading", name="Import done")).to_be_visible()
    expect(page.get_by_text("the uploaded file has been deleted")).to_be_visible()
    both_sizes(page, snap, "done")
    assert list((settings.IMPORT_UPLOAD_DIR).iterdir()) == []

    page.get_by_role("link", name="Find a patient").click()
    page.get_by_label("Search", exact=True).fill("ordonez")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(row(page, "Ordóñez, Iker")).to_be_visible()
    expect(row(page, "Ordóñez, Iker")).to_contain_text("Amaia Ordóñez")
    snap(page, "found")  # the search page is for desk and tablet; its table is wider than a phone
    assert FamilyContact.objects.get().email == "amaia.ordonez@example.org"


def both_sizes(page: Page, snap, step: str) -> None:
    """Screenshots at desktop and phone size; at phone size the page must not scroll sideways."""
    snap(page, f"{step}-desktop")
    page.set_viewport_size(PHONE)
    snap(page, f"{step}-phone")
    overflow = horizontal_overflow(page)
    tables = [table.bounding_box() for table in page.locator("table").all()]
    page.set_viewport_size(DESKTOP)
    assert overflow is None, f"{step} scrolls sideways at {PHONE['width']}px: {overflow}"
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in tables), f"{step}: a table is cut off"


def test_a_file_of_the_wrong_kind_shows_one_clear_error(
    page: Page, live_server, sign_in, practice_admin, snap, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "imports"  # the test settings' immediate backend: run at once
    sign_in(page, practice_admin, screenshot=False)
    nav(page).get_by_role("link", name="Import").click()
    page.get_by_label("Export file").set_input_files(
        files=[{"name": "notes.csv", "mimeType": "text/csv", "buffer": b"when,what\n2026-01-01,flu shot\n"}]
    )
    page.get_by_role("button", name="Preview the import").click()

    expect(page.get_by_role("heading", name="The file could not be checked")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text("notes.csv")
    assert list(settings.IMPORT_UPLOAD_DIR.iterdir()) == []
    both_sizes(page, snap, "failed")
    nav(page).get_by_role("link", name="Import").click()
    expect(page.get_by_role("listitem").filter(has_text="notes.csv")).to_contain_text("preview, failed")
    snap(page, "recent")
