"""The client address, for the audit trail and rate limits, comes from the configured trusted proxies,
never from whatever X-Forwarded-For a client sends; nor does a client's X-Forwarded-Proto make a request
secure."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from portalreg.middleware import ForwardedHeadersMiddleware
from portalreg.proxies import client_address
from registration.models import AuditEvent
from tests.security.support import account_fields, statuses

OURS = ["10.0.0.0/24"]
# (TRUSTED_PROXIES, REMOTE_ADDR, X-Forwarded-For, the client address)
CASES = [
    ([], "198.51.100.9", None, "198.51.100.9"),
    ([], "198.51.100.9", "203.0.113.7", "198.51.100.9"),  # no proxy: the header is the client's word
    (OURS, "198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not from our proxy: the client's word too
    (["10.0.0.2"], "10.0.0.2", "203.0.113.7", "203.0.113.7"),
    (["10.0.0.2"], "10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the client prepended
    (OURS, "10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),  # through two of ours
    (OURS, "10.0.0.3", "203.0.113.7", "203.0.113.7"),  # a shorter path, through one of them
    (OURS, "10.0.0.3", "10.0.0.9, 203.0.113.7", "203.0.113.7"),  # a client naming one of ours gains nothing
    (OURS, "10.0.0.3", "10.0.0.2", "10.0.0.2"),  # began at one of ours
    (OURS, "::ffff:10.0.0.3", "203.0.113.7", "203.0.113.7"),  # an IPv4 peer on a dual-stack socket
    (["10.0.0.2"], "10.0.0.2", None, "10.0.0.2"),
    (["10.0.0.2"], "10.0.0.2", "not-an-address", None),
    (["10.0.0.2"], "10.0.0.2", "2001:DB8:0:0::1", "2001:db8::1"),
]


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), CASES)
def test_client_address_from_trusted_proxies(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    headers = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
    assert client_address(RequestFactory().get("/", **headers)) == expected
    print(f"proxies {proxies}, REMOTE_ADDR {remote}, X-Forwarded-For {forwarded!r}: {expected}")


@pytest.mark.django_db
def test_a_client_cannot_dodge_the_limit_by_forging_the_header(client, settings, chart, issue_pin):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    url = reverse("portal:pin-start")
    guess = {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": "2019-01-01"} | account_fields("x@example.org")

    def through_proxy(forwarded, data=guess):
        return client.post(url, data, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    forged = [through_proxy(f"198.18.0.{n}, 203.0.113.7") for n in range(25)]
    neighbour = through_proxy("203.0.113.8")
    issued = issue_pin(chart)
    wrong_birth = guess | {"pin": issued.code, "child_birth_date": "2001-01-01"}
    through_proxy("203.0.113.9", wrong_birth)

    assert statuses(forged) == {200: 20, 429: 5}
    assert neighbour.status_code == 200  # behind the same proxy, a different client
    assert AuditEvent.objects.get(action=AuditEvent.Action.PIN_REDEEM_FAILED).client_address == "203.0.113.9"
    print(
        "behind 1 trusted proxy, 25 PIN tries from one client forging 25 different X-Forwarded-For "
        "prefixes: 20 answered, 5 refused; another client behind the same proxy: answered; "
        "the audit trail records the client's address, not the proxy's"
    )


@pytest.mark.django_db
def test_an_ipv6_client_counts_by_its_slash_64(client):
    url = reverse("portal:pin-start")
    guess = {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": "2019-01-01"} | account_fields("x@example.org")
    same_64 = [client.post(url, guess, REMOTE_ADDR=f"2001:db8:1:2::{n:x}") for n in range(21)]
    next_64 = client.post(url, guess, REMOTE_ADDR="2001:db8:1:3::1")

    assert statuses(same_64) == {200: 20, 429: 1} and next_64.status_code == 200
    print("21 PIN tries from 21 IPv6 addresses in one /64: 20 answered, 1 refused; the next /64: answered")


@pytest.mark.django_db
def test_a_client_connecting_directly_is_counted_by_its_own_address_whatever_it_forwards(client, settings):
    """Issue 12, finding 10: once a proxy was configured, X-Forwarded-For was believed from any peer,
    so a client reaching the app directly had a fresh budget with each address it wrote there."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    url = reverse("portal:pin-start")
    guess = {"pin": "ZZZZ-ZZZZ-ZZZZ", "child_birth_date": "2019-01-01"} | account_fields("x@example.org")

    forged = [
        client.post(url, guess, REMOTE_ADDR="198.51.100.20", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        for n in range(25)
    ]
    through_our_proxy = client.post(url, guess, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert statuses(forged) == {200: 20, 429: 5}
    assert through_our_proxy.status_code == 200  # 203.0.113.1, as our proxy saw it, has its own budget
    print(
        "a client connecting directly, 25 PIN tries each forging another X-Forwarded-For: 20 answered, "
        "5 refused; the address it forged, through our proxy: answered"
    )


def test_x_forwarded_proto_is_believed_only_from_our_proxies(settings):
    """Issue 12, finding 10: production believed X-Forwarded-Proto: https from any peer."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    seen = ForwardedHeadersMiddleware(lambda request: HttpResponse(str(request.is_secure())))

    def request(peer):
        return RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https")

    assert seen(request("198.51.100.20")).content == b"False"
    assert seen(request("10.0.0.2")).content == b"True"
    # The whole stack: a direct client claiming https is sent to https, as any plain-http request is.
    direct = Client(REMOTE_ADDR="198.51.100.20").get("/portal/", HTTP_X_FORWARDED_PROTO="https")
    proxied = Client(REMOTE_ADDR="10.0.0.2").get("/portal/", HTTP_X_FORWARDED_PROTO="https")
    assert direct.status_code == 301 and direct["Location"].startswith("https://")
    assert proxied.status_code != 301
    print(
        "X-Forwarded-Proto: https from a direct client: request.is_secure() False, redirected to https; "
        "from our proxy: secure, served"
    )


def test_a_mistyped_proxy_network_stops_the_start(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.7/8"]  # an address or a network? Not a guess to widen
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        ForwardedHeadersMiddleware(HttpResponse)
