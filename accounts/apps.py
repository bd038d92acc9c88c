from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in accounts"

    def ready(self):
        from accounts import sessions  # noqa: F401  (records each sign-in's session)
