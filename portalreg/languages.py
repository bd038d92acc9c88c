"""The parent's language: carried in the links we send, and chosen in the browser (issue 13).

Every link in an email, text or slip names the message's language (`?lang=es`): the portal opens in
it and remembers it in the language cookie. A language the parent picks with the portal's switch is
their choice for the session: signing in then keeps it instead of applying the account's language.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.views.i18n import set_language

LANG_PARAM = "lang"
# In the session: the language this browser's parent picked with the switch.
CHOSEN = "language_chosen"


def language_supported(code: str | None) -> str | None:
    """Return the code if the portal is offered in that language (settings.LANGUAGES), else None."""
    return code if code in dict(settings.LANGUAGES) else None


def portal_address(path: str, *, language: str, fragment: str = "") -> str:
    """The portal's address for `path` as a message names it: absolute (`PORTAL_BASE_URL`), in the
    message's language, with an optional fragment (which browsers never send to a server)."""
    address = f"{settings.PORTAL_BASE_URL}{path}?{LANG_PARAM}={language}"
    return f"{address}#{fragment}" if fragment else address


def language_cookie_set(response, language: str) -> None:
    """Remember the language in this browser, as Django's language switch does."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


class LanguageFromLinkMiddleware:
    """Open a link that names a language (`?lang=es`) in it: set the language cookie and redirect to
    the same address without `lang`.

    The redirect keeps the address bar (and the language switch's way back) free of a language that
    would outvote the parent's next choice; browsers keep the link's fragment (`#pin=...`) across it.
    A code the portal is not offered in is ignored.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or LANG_PARAM not in request.GET:
            return self.get_response(request)
        query = request.GET.copy()
        language = language_supported(query.pop(LANG_PARAM)[-1])
        response = HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)
        if language:
            language_cookie_set(response, language)
        return response


def language_choose(request):
    """Django's language switch, noting in the session that the parent chose: signing in keeps it."""
    response = set_language(request)
    if language := language_supported(request.POST.get("language")):
        request.session[CHOSEN] = language
    return response


def language_chosen(request) -> str | None:
    """The language the parent picked with the switch in this session, if any."""
    return language_supported(request.session.get(CHOSEN))
