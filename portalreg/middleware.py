from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers

from portalreg.proxies import is_trusted_proxy, trusted_proxy_networks

# What a proxy tells the app about the request; Django reads the last three only when told to
# (SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST, USE_X_FORWARDED_PORT).
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
)


class ForwardedHeadersMiddleware:
    """Drop the X-Forwarded-* headers of a request that did not come from one of our proxies
    (`settings.TRUSTED_PROXIES`).

    Django takes X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER) from any peer: a client connecting past
    the proxy could say https and be served as if over TLS, without the redirect (issue 12, finding 10).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        trusted_proxy_networks()  # a mistyped TRUSTED_PROXIES stops the start, not the first request

    def __call__(self, request):
        if not is_trusted_proxy(request.META.get("REMOTE_ADDR")):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class NoStoreMiddleware:
    """Keep every page out of browser and proxy caches (`Cache-Control: no-store`).

    Any page may show a child's health details, and after signing out the back button must not bring
    one back. Static files are served before this runs, and stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class PermissionsPolicyMiddleware:
    """Refuse every page the browser features it never uses (`settings.PERMISSIONS_POLICY`).

    A script that got onto a page (or a frame it opened) still could not reach the camera, microphone,
    location or payment APIs. Django has no setting for this header, hence this middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


class HealthCheckMiddleware:
    """`/healthz` for load balancers: 200 "ok" when the database answers, 503 when it does not.

    Answered before any other middleware: a balancer probes over plain HTTP by address, which the
    HTTPS redirect and the allowed-hosts check would refuse, and it needs no session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path != "/healthz":
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            response = HttpResponse("database unavailable\n", status=503, content_type="text/plain")
        else:
            response = HttpResponse("ok\n", content_type="text/plain")
        add_never_cache_headers(response)
        return response


class StaffInEnglishMiddleware:
    """Draw the staff site in English (`LANGUAGE_CODE`), whatever the browser asks for or the portal's
    language cookie holds: its pages are written in English, and a Spanish date or status among them
    (a desk browser set to Spanish, or one that showed a parent the portal) reads as a mistake. Parent
    pages keep the language `LocaleMiddleware` chose."""

    PREFIX = "/staff/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(self.PREFIX):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return self.get_response(request)
