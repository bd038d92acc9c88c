"""Write an email about a parent's account and hand it to the email provider.

Confirm your address; you already have an account; reset your password. The links are made here, at
send time, from `PORTAL_BASE_URL` (never from a request's Host header), so their tokens are never stored.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portalreg.practice import practice_details
from registration.models import ParentAccountEmail
from registration.tokens import email_verification_token

Kind = ParentAccountEmail.Kind
TEMPLATES = {Kind.VERIFY: "verify", Kind.EXISTS: "exists", Kind.PASSWORD_RESET: "password_reset"}


def parent_email_deliver(email: ParentAccountEmail) -> str:
    """Send the email in the parent's language; return the provider's id for it ('' if it gives none)."""
    user = email.account.user
    context = {**practice_details(), "first_name": user.first_name}
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    if email.kind == Kind.VERIFY:
        # The key goes after '#': browsers never send the fragment, so no access log holds it.
        key = f"{uid}.{email_verification_token.make_token(user)}"
        context["link"] = f"{settings.PORTAL_BASE_URL}{reverse('portal:verify-email')}#{key}"
    elif email.kind == Kind.PASSWORD_RESET:
        path = reverse("portal:password-reset-confirm", args=[uid, default_token_generator.make_token(user)])
        context["link"] = settings.PORTAL_BASE_URL + path
    else:
        context["sign_in"] = settings.PORTAL_BASE_URL + reverse("portal:sign-in")
        context["reset"] = settings.PORTAL_BASE_URL + reverse("portal:password-reset")
    name = TEMPLATES[email.kind]
    with translation.override(email.account.preferred_language):
        message = EmailMessage(
            subject=render_to_string(f"portal/email/{name}_subject.txt", context).strip(),
            body=render_to_string(f"portal/email/{name}.txt", context),
            to=[user.email],
        )
    message.send()
    status = getattr(message, "anymail_status", None)  # set by anymail's backends only
    return (status.message_id or "") if status is not None else ""
