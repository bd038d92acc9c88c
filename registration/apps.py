from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class RegistrationConfig(AppConfig):
    name = "registration"

    def ready(self):
        from registration import checks  # (registers the deployment checks)
        from registration.views import provider_hooks  # noqa: F401  (connects anymail's tracking signal)

        if settings.REFUSE_STAND_IN_PROVIDERS and (refusals := checks.production_refusals()):
            raise ImproperlyConfigured(
                "The production settings refuse to start:\n"
                + "\n".join(f"{refusal.id}: {refusal.msg} HINT: {refusal.hint}" for refusal in refusals)
            )
