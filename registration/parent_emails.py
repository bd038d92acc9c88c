"""Emails about a parent's account (not welcome messages): confirm your address; you already have one."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from registration.tokens import email_verification_token


def parent_account_email_send(kind: str, user_id: int) -> None:
    user = get_user_model().objects.select_related("portal_account").get(pk=user_id)
    account = user.portal_account
    context = {"practice_name": settings.PRACTICE_NAME, "first_name": user.first_name}
    if kind == "verify":
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        path = reverse("portal:verify-email", args=[uid, email_verification_token.make_token(user)])
        context["link"] = settings.PORTAL_BASE_URL + path
    else:
        context["sign_in"] = settings.PORTAL_BASE_URL + reverse("portal:sign-in")
        context["reset"] = settings.PORTAL_BASE_URL + reverse("portal:password-reset")
    with translation.override(account.preferred_language):
        subject = render_to_string(f"portal/email/{kind}_subject.txt", context).strip()
        body = render_to_string(f"portal/email/{kind}.txt", context)
    send_mail(subject, body, None, [user.email])
