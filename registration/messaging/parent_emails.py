"""Write an email about a parent's account and hand it to the email provider.

Confirm your address; you already have an account; reset your password; what you will see of a child
from a birthday (drawn from its milestone as it stands when sent). The links are made here, at send
time, from `PORTAL_BASE_URL` (never from a request's Host header), so their tokens are never stored;
each names the email's language (`?lang=`), so the portal opens in it.
"""

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portalreg.languages import portal_address
from portalreg.practice import practice_details
from registration.models import ParentAccountEmail
from registration.portal.tokens import email_verification_token
from registration.selectors.birthdays import access_change_notice

Kind = ParentAccountEmail.Kind
TEMPLATES = {
    Kind.VERIFY: "verify",
    Kind.EXISTS: "exists",
    Kind.PASSWORD_RESET: "password_reset",
    Kind.ACCESS_CHANGE: "access_change",
}


def parent_email_deliver(email: ParentAccountEmail) -> str:
    """Send the email in the parent's language; return the provider's id for it ('' if it gives none)."""
    user = email.account.user
    language = email.account.preferred_language
    context = {**practice_details(), "first_name": user.first_name}
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    if email.kind == Kind.VERIFY:
        # The key goes after '#': browsers never send the fragment, so no access log holds it.
        key = f"{uid}.{email_verification_token.make_token(user)}"
        context["link"] = portal_address(reverse("portal:verify-email"), language=language, fragment=key)
    elif email.kind == Kind.PASSWORD_RESET:
        path = reverse("portal:password-reset-confirm", args=[uid, default_token_generator.make_token(user)])
        context["link"] = portal_address(path, language=language)
    elif email.kind == Kind.ACCESS_CHANGE:
        context["notice"] = access_change_notice(email.milestone)
        context["sign_in"] = portal_address(reverse("portal:sign-in"), language=language)
    else:
        context["sign_in"] = portal_address(reverse("portal:sign-in"), language=language)
        context["reset"] = portal_address(reverse("portal:password-reset"), language=language)
    name = TEMPLATES[email.kind]
    with translation.override(language):
        message = EmailMessage(
            subject=render_to_string(f"portal/email/{name}_subject.txt", context).strip(),
            body=render_to_string(f"portal/email/{name}.txt", context),
            to=[user.email],
        )
    message.send()
    status = getattr(message, "anymail_status", None)  # set by anymail's backends only
    return (status.message_id or "") if status is not None else ""
