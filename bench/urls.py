"""The app's URLs plus the floor: the least a signed-in staff page can cost on this stack."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import include, path


@login_required
def floor(request):
    """Session and user loaded, a tiny template rendered: what every staff page pays before its own work."""
    return render(request, "floor.html", {"user": request.user})


urlpatterns = [path("bench/floor/", floor, name="bench-floor"), path("", include("portalreg.urls"))]
