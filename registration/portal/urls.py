from django.contrib.auth import views as auth_views
from django.urls import path

from registration.portal import policies
from registration.portal.views import accounts, home, pin, sign_up

app_name = "portal"

urlpatterns = [
    path("", home.start, name="start"),
    path("pin/", pin.pin_start, name="pin-start"),
    path("sign-up/", sign_up.sign_up, name="sign-up"),
    path("sign-up/sent/", sign_up.sign_up_sent, name="sign-up-sent"),
    path("sign-up/send-again/", accounts.verify_resend, name="verify-resend"),
    path("sign-up/code/", sign_up.enrollment_code, name="enrollment-code"),
    path("confirm-email/", accounts.verify_email, name="verify-email"),
    path("verify/<uidb64>/<token>/", accounts.verify_link_old, name="verify-email-old"),
    path("home/", home.home, name="home"),
    path("home/parents/", home.parent_level, name="parent-level"),
    path("privacy/", policies.privacy, name="privacy"),
    path("terms/", policies.terms, name="terms"),
    path("sign-in/", accounts.ParentSignInView.as_view(), name="sign-in"),
    path("sign-out/", accounts.ParentSignOutView.as_view(), name="sign-out"),
    path("password-reset/", accounts.ParentPasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_sent.html"),
        name="password-reset-sent",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.ParentPasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_done.html"),
        name="password-reset-done",
    ),
]
