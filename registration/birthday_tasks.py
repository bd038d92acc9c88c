"""The daily birthdays task: for the task worker, as `manage.py apply_access_birthdays` is for cron.

Either runs `access_birthdays_run`, which is safe to run twice in a day, or at the same time.
"""

from django.tasks import task

from registration.services.birthdays import access_birthdays_run


@task
def apply_access_birthdays() -> str:
    """Tell parents of the birthdays due in 30 days and make today's changes; say what was done."""
    return str(access_birthdays_run())
