from django.contrib.auth import views as auth_views

from ratelimits.refusals import SignInRateLimits
from registration.staff.forms import StaffAuthenticationForm


class StaffSignInView(SignInRateLimits, auth_views.LoginView):
    template_name = "staff/sign_in.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = False
    next_page = "staff:dashboard"


class StaffSignOutView(auth_views.LogoutView):
    next_page = "staff:sign-in"
