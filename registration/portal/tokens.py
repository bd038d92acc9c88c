from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Tokens for 'confirm your email' links; spent once the address is verified."""

    # Named for the module's first home: a new salt would void every link already sent.
    key_salt = "registration.tokens.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        account = user.portal_account
        return f"{user.pk}{user.email}{account.email_verified_at}{timestamp}"


email_verification_token = EmailVerificationTokenGenerator()
