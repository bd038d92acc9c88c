from django.contrib.auth import views as auth_views
from django.urls import path

from registration.portal import policies as portal_policies
from registration.portal import views as portal

app_name = "portal"

urlpatterns = [
    path("", portal.start, name="start"),
    path("pin/", portal.pin_start, name="pin-start"),
    path("sign-up/", portal.sign_up, name="sign-up"),
    path("sign-up/sent/", portal.sign_up_sent, name="sign-up-sent"),
    path("sign-up/send-again/", portal.verify_resend, name="verify-resend"),
    path("sign-up/code/", portal.enrollment_code, name="enrollment-code"),
    path("confirm-email/", portal.verify_email, name="verify-email"),
    path("verify/<uidb64>/<token>/", portal.verify_link_old, name="verify-email-old"),
    path("home/", portal.home, name="home"),
    path("privacy/", portal_policies.privacy, name="privacy"),
    path("terms/", portal_policies.terms, name="terms"),
    path("sign-in/", portal.ParentSignInView.as_view(), name="sign-in"),
    path("sign-out/", portal.ParentSignOutView.as_view(), name="sign-out"),
    path("password-reset/", portal.ParentPasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_sent.html"),
        name="password-reset-sent",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        portal.ParentPasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_done.html"),
        name="password-reset-done",
    ),
]
