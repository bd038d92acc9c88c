from django.apps import AppConfig

from patients import lookups  # noqa: F401 - registers `in_list` on every field, before any query


class PatientsConfig(AppConfig):
    name = "patients"
