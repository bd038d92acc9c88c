from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portalreg.proxies import address_normalized, forwarded_client, is_trusted_proxy
from ratelimits.devices import device_cookie_set, device_nonce
from ratelimits.limits import RateLimited, rate_limit_try


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from, for the audit trail and rate limits.

    From one of our proxies (`TRUSTED_PROXIES`), the client it forwarded in X-Forwarded-For
    (portalreg/proxies.py); from anyone else, the peer itself, whatever X-Forwarded-For it sent.
    """
    peer = request.META.get("REMOTE_ADDR")
    if is_trusted_proxy(peer):
        return forwarded_client(request.META.get("HTTP_X_FORWARDED_FOR", ""), proxy=peer)
    return address_normalized(peer)


PAGE_SIZE = 25


@dataclass(frozen=True)
class ListPage:
    rows: list
    number: int
    has_next: bool


def page_of(request: HttpRequest, rows: QuerySet, *, size: int = PAGE_SIZE) -> ListPage:
    """The page of `rows` that `?page=` names (the first if it names none)."""
    page = request.GET.get("page", "")
    # ASCII digits, and not too many: "²".isdigit() but int("²") fails, and a huge page overflows OFFSET.
    number = max(int(page), 1) if page.isascii() and page.isdigit() and len(page) <= 6 else 1
    # One row more than a page tells whether there is a next page, without counting every match.
    fetched = list(rows[(number - 1) * size : number * size + 1])
    return ListPage(rows=fetched[:size], number=number, has_next=len(fetched) > size)


def rate_limit_refusal(
    request: HttpRequest, action: str, *, account: str | None = None
) -> HttpResponse | None:
    """Count a try at `action` (`settings.RATE_LIMITS`): the 429 page if it goes over a limit, else None."""
    try:
        rate_limit_try(action, address=client_address(request), account=account)
    except RateLimited as limited:
        return too_many_tries(request, limited)
    return None


def too_many_tries(request: HttpRequest, limited: RateLimited) -> HttpResponse:
    match = request.resolver_match
    site = "portal" if match and match.namespace == "portal" else "staff"
    response = render(request, f"{site}/too_many_tries.html", status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


class SignInRateLimits:
    """For a sign-in view: refuse tries beyond `RATE_LIMITS["sign_in"]`, per typed account and address.

    A browser holding a device cookie for the typed account (it signed in to it before) is counted on
    its own budget instead of the account's, so a guesser elsewhere cannot lock the owner out of it.
    Failed tries count; a successful one does not, clears the earlier failures of its account or
    device, and gives the browser a device cookie for the account.
    """

    def post(self, request, *args, **kwargs):
        typed = request.POST.get("username")
        try:
            self.attempt = rate_limit_try(
                "sign_in", address=client_address(request), account=typed, device=device_nonce(request, typed)
            )
        except RateLimited as limited:
            return too_many_tries(request, limited)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        self.attempt.succeeded()
        response = super().form_valid(form)
        device_cookie_set(response, self.request, account=self.request.POST.get("username"))
        return response
