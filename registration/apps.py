from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"

    def ready(self):
        from registration import checks  # noqa: F401  (registers the deployment checks)
        from registration.views import provider_hooks  # noqa: F401  (connects anymail's tracking signal)
