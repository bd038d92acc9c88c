"""The pages for what went wrong: an expired form, a refused page, a missing page, a server error.

Each is drawn in the portal's style (and the visitor's language) under /portal/, in the staff site's
style (in English, as the staff site is) elsewhere.
"""

from django.conf import settings
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

from portalreg.practice import practice_details

# Only portal pages offer the language switch (/i18n/setlang/).
PORTAL_PREFIXES = ("/portal/", "/i18n/")


def _is_portal(request) -> bool:
    return request.path.startswith(PORTAL_PREFIXES)


def _render(request, template: str, status: int, context: dict | None = None):
    portal = _is_portal(request)
    context = {"base_template": "portal/base.html" if portal else "staff/error_base.html", **(context or {})}
    if portal:
        return render(request, template, context, status=status)
    with translation.override(settings.LANGUAGE_CODE):
        return render(request, template, context, status=status)


def csrf_failure(request, reason=""):
    """Say the page expired and nothing was saved, with a link to open the same page again.

    Django's own page says "CSRF verification failed": what a parent sees after signing in or out in
    another tab while a form stayed open. `reason` is for developers and stays out of the page.
    """
    if request.path == reverse("set_language"):
        # The language switch: back to the page it was on.
        again = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(again, allowed_hosts={request.get_host()}):
            again = reverse("portal:start")
    else:
        # One leading slash: a path like //example.org/ would be a link to another site.
        again = "/" + request.path.lstrip("/")
    return _render(request, "expired.html", 403, {"again": again})


def permission_denied(request, exception=None):
    return _render(request, "403.html", 403)


def page_not_found(request, exception=None):
    return _render(request, "404.html", 404)


def server_error(request):
    """Draw 500.html from settings alone: no database, no context processors, no session.

    Whatever failed (the database, a context processor) must not fail this page too.
    """
    portal = _is_portal(request)
    context = {**practice_details(), "portal": portal}
    try:
        if portal:
            context["LANGUAGE_CODE"] = translation.get_language()
            return HttpResponseServerError(render_to_string("500.html", context))
        with translation.override(settings.LANGUAGE_CODE):
            context["LANGUAGE_CODE"] = settings.LANGUAGE_CODE
            return HttpResponseServerError(render_to_string("500.html", context))
    except Exception:  # the last resort must answer, whatever failed
        return HttpResponseServerError("Server error. Please try again later.", content_type="text/plain")
