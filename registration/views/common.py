import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ratelimits.devices import device_cookie_set, device_nonce
from ratelimits.limits import RateLimited, rate_limit_try


def client_address(request: HttpRequest) -> str | None:
    """The address the request came from, for the audit trail and rate limits.

    Behind `TRUSTED_PROXY_COUNT` proxies of our own, each appending the address it was connected from
    to X-Forwarded-For, it is the entry that many from the right: the one the outermost proxy saw.
    Entries further left came from the client and prove nothing. A request with fewer entries did not
    pass through every proxy; its REMOTE_ADDR is used.
    """
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [entry for entry in forwarded if entry]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


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
