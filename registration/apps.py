from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin import apps as admin_apps
from django.core.exceptions import ImproperlyConfigured


class RegistrationConfig(AppConfig):
    name = "registration"

    def ready(self):
        # Imported here, not at the top: these modules need the models, which are not loaded before ready().
        from registration import checks, sign_in_receivers  # checks: registers the deployment checks
        from registration.messaging import receivers as messaging_receivers

        sign_in_receivers.connect()
        messaging_receivers.connect()

        if settings.REFUSE_STAND_IN_PROVIDERS and (refusals := checks.production_refusals()):
            raise ImproperlyConfigured(
                "The production settings refuse to start:\n"
                + "\n".join(f"{refusal.id}: {refusal.msg} HINT: {refusal.hint}" for refusal in refusals)
            )


class AuditedAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with a site that audits every change made through it (registration/admin_audit.py)."""

    default = False  # named in INSTALLED_APPS; `registration` is RegistrationConfig
    default_site = "registration.admin_audit.AuditedAdminSite"
