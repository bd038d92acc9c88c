"""The staff Import page's runs: an EHR export imported by the task worker, with progress to watch.

1. An admin uploads a file: it is written under `settings.IMPORT_UPLOAD_DIR` by a random token, an
   `ImportRun` (a dry run) is created and the worker is asked to run it (`services.import_run_start`).
2. The worker reads and checks the file, writing how far it got (`progress.py`), and keeps the report:
   the preview. The file waits for the admin's confirmation.
3. The admin confirms: a second run, the real import, takes over the file (`services.import_run_confirm`).
4. When the real import ends, or any run fails, the file is deleted (`lifecycle.py`). A preview never
   confirmed, another upload by the same admin, or a run whose worker stopped has its file deleted by
   `services.import_uploads_prune` (`manage.py prune_import_uploads`, from cron).

Task arguments hold only the run's id; the file's content is never in the database. The import itself,
for these runs and for `manage.py import_ehr`, is `importing.import_file`: the EHR's records, and an audit
event for each one it adds or changes.
"""
