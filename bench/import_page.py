"""The Import page's path for bench/import_speed.py: an export through the staff site's Import page.

    DATABASE_URL=postgres://.../DB .venv/bin/python bench/import_page.py FOLDER

Against a migrated, empty database: starts `manage.py db_worker` (the Procfile's worker, on the
production task backend `django_tasks_db`), signs a practice admin in, and, for each file of the export
in the order `import_ehr` reads them, does what the admin does: uploads it on the Import page, waits for
the worker's preview (a dry run), confirms, and waits for the import. Each run is timed from the
request (the upload, or the confirmation) to the run's row saying it finished, polled every 50 ms;
the worker polls its queue every second, as in production. The last line printed is JSON with the
seconds, for import_speed.py.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portalreg.settings.dev")
os.environ["TASKS_BACKEND"] = "django_tasks_db.DatabaseBackend"  # the Procfile's worker, as in production

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import ADMIN_GROUP, User  # noqa: E402
from patients.importing.folders import export_files  # noqa: E402
from registration.ehr_import.reports import StoredReport  # noqa: E402
from registration.models import ImportRun  # noqa: E402

POLL = 0.05


def main() -> int:
    folder = Path(sys.argv[1])
    admin = User.objects.create_user("bench-admin", "bench-admin@practice.example", "not used: force_login")
    admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--verbosity", "0"],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        time.sleep(3)  # the worker's start-up: a production worker is running already
        if worker.poll() is not None:
            sys.exit(f"db_worker stopped at start-up ({worker.returncode})")
        figures = {"preview": 0.0, "import": 0.0}
        for path in export_files([folder]):
            started = time.monotonic()
            with path.open("rb") as file:
                response = client.post(reverse("staff:import"), {"file": file})
            if response.status_code != 302:
                sys.exit(f"{path.name}: the Import page refused the upload ({response.status_code})")
            uploaded = time.monotonic() - started
            preview = _finished(ImportRun.objects.latest("pk"), started, worker)
            started = time.monotonic()
            client.post(reverse("staff:import-confirm", args=[preview.pk]))
            run = _finished(ImportRun.objects.get(preview=preview), started, worker)
            print(
                f"  {path.name}: upload request {uploaded:.1f} s; preview {preview.seconds:.1f} s from the "
                f"upload; import {run.seconds:.1f} s from the confirmation",
                flush=True,
            )
            figures["preview"] += preview.seconds
            figures["import"] += run.seconds
        print(json.dumps(figures))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return 0


def _finished(run: ImportRun, started: float, worker: subprocess.Popen) -> ImportRun:
    """Wait for the worker to finish `run`; return it with `seconds` since `started`."""
    while True:
        run.refresh_from_db()
        if run.stage == ImportRun.Stage.FAILED:
            sys.exit(f"run {run.pk} failed: {run.error}")
        if run.stage == ImportRun.Stage.DONE:
            run.seconds = time.monotonic() - started
            rejected = StoredReport.from_json(run.report, dry_run=run.dry_run).rejected
            if rejected:
                sys.exit(f"run {run.pk} rejected {rejected} records")
            return run
        if worker.poll() is not None:
            sys.exit(f"db_worker stopped ({worker.returncode})")
        time.sleep(POLL)


if __name__ == "__main__":
    sys.exit(main())
