"""Fixtures for the security tests. Each test prints what it tried: run with `-rP` to see the figures."""

import pytest

from ratelimits import limits
from tests.security.support import Clock


@pytest.fixture
def clock(monkeypatch):
    """The rate limits' clock, stopped at now; `clock.move(seconds)` moves it on."""
    stopped = Clock()
    monkeypatch.setattr(limits, "now", stopped)
    return stopped


@pytest.fixture
def parent(make_portal_account):
    """A parent's portal account, made by redeeming a PIN; it signs in with `PARENT_PASSWORD`."""
    return make_portal_account()
