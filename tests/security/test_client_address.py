"""The client address, for the audit trail and rate limits, comes from the configured trusted proxies,
never from whatever X-Forwarded-For a client sends."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from registration.models import AuditEvent
from registration.views.common import client_address

from .support import account_fields, statuses

# (trusted proxies, REMOTE_ADDR, X-Forwarded-For, the client address)
CASES = [
    (0, "198.51.100.9", None, "198.51.100.9"),
    (0, "198.51.100.9", "203.0.113.7", "198.51.100.9"),  # no proxy: the header is the client's word
    (1, "10.0.0.2", "203.0.113.7", "203.0.113.7"),
    (1, "10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # what the client prepended is ignored
    (2, "10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
    (2, "10.0.0.3", "203.0.113.7", "10.0.0.3"),  # fewer entries than proxies: it skipped one
    (1, "10.0.0.2", None, "10.0.0.2"),
    (1, "10.0.0.2", "not-an-address", None),
    (1, "10.0.0.2", "2001:DB8:0:0::1", "2001:db8::1"),
]


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), CASES)
def test_client_address_from_trusted_proxies(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"REMOTE_ADDR": remote} | ({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})
    assert client_address(RequestFactory().get("/", **headers)) == expected
    print(f"{proxies} proxies, REMOTE_ADDR {remote}, X-Forwarded-For {forwarded!r}: {expected}")


@pytest.mark.django_db
def test_a_client_cannot_dodge_the_limit_by_forging_the_header(client, settings, chart, issue_pin):
    settings.TRUSTED_PROXY_COUNT = 1
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
