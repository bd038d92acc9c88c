from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portalreg import error_pages as errors
from portalreg import languages
from registration.messaging import provider_hooks

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:start"), name="home"),
    path("staff/", include("registration.staff.urls")),
    path("portal/", include("registration.portal.urls")),
    path("i18n/setlang/", languages.language_choose, name="set_language"),
    # One sign-in page for staff, with its rate limits: the admin's own would be a way around them.
    path("admin/login/", RedirectView.as_view(pattern_name="staff:sign-in", query_string=True)),
    path("admin/", admin.site.urls),
    path("hooks/twilio/status/", provider_hooks.twilio_status, name="twilio-status"),
]
if anymail_tracking := provider_hooks.anymail_tracking_urlpatterns(settings.MAIL_TRACKING_ESP):
    urlpatterns.append(path("hooks/anymail/", include((anymail_tracking, "anymail"))))

handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
