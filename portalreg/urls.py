from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="portal:start"), name="home"),
    path("staff/", include("registration.urls")),
    path("portal/", include("registration.portal_urls")),
    path("admin/", admin.site.urls),
]
