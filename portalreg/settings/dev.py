"""Quick start on one machine: SQLite, debug pages, messages printed, tasks run at once."""

from portalreg.settings.base import *  # noqa: F403
from portalreg.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-not-secret-" + "x" * 40)
TASKS = {
    "default": {"BACKEND": env("TASKS_BACKEND", default="django.tasks.backends.immediate.ImmediateBackend")}
}
