"""What `make bench-server` serves: the site as portalreg.wsgi serves it, and the bare view through a
Django handler without middleware, in the same gunicorn workers (issue 17's "bare Django view")."""

from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings
from django.urls import reverse

from portalreg.wsgi import application as site

with override_settings(MIDDLEWARE=[]):
    bare = WSGIHandler()
BARE_PATH = reverse("bench-bare")


def application(environ, start_response):
    """Send the bare view's path to the handler without middleware, everything else to the site."""
    handler = bare if environ.get("PATH_INFO") == BARE_PATH else site
    return handler(environ, start_response)
