from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in accounts"

    def ready(self):
        from accounts import role_changes, sessions  # noqa: F401  (their signal receivers)
        from accounts.signed_in_cache import receivers_connect

        receivers_connect()
