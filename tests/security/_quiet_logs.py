"""Keep the refusals these tests make on purpose off the console when run with `-s`."""

import logging

import pytest


@pytest.fixture(autouse=True)
def quiet_request_log():
    """Silence Django's request and security loggers for the test: every 4xx here is intended, and a
    server error still fails the test, since the test client raises it."""
    logs = [logging.getLogger(name) for name in ("django.request", "django.security")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL + 1)
    yield
    for log, level in zip(logs, levels, strict=True):
        log.setLevel(level)
