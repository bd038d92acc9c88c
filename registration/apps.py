from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"

    def ready(self):
        from registration.views import provider_hooks  # noqa: F401  (connects anymail's tracking signal)
