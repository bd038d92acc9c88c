"""The app's URLs plus the floor and a bare view: what a signed-in staff page costs before its own work,
and what Django costs for a view at all."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import include, path


@login_required
def floor(request):
    """Session and user loaded, a tiny template rendered: what every staff page pays before its own work."""
    return render(request, "floor.html", {"user": request.user})


def bare(request):
    """Answer without touching the session or the user."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    # bench/wsgi.py and measure.py request the first without any middleware, the second through them all.
    path("bench/bare/", bare, name="bench-bare"),
    path("bench/bare/middleware/", bare, name="bench-bare-middleware"),
    path("bench/floor/", floor, name="bench-floor"),
    path("", include("portalreg.urls")),
]
