"""What a page answers when a limit refuses a try: the 429 page, in the staff or the portal style."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portalreg.proxies import client_address
from ratelimits.devices import device_cookie_set, device_nonce
from ratelimits.limits import RateLimited, rate_limit_try


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
