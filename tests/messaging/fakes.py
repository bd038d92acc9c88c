"""Fake providers for welcome messages: an email provider, a Twilio and a Postmark on 127.0.0.1.

Each can be told to fail or hold its next sends, the way a provider's outage looks to the app, and
each records what it was handed so tests can read what a parent would have received.
"""

import base64
import io
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from django.core import mail

from loadtest import fake_provider as loadtest_fake_provider

TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "test-token"
TWILIO_FROM_NUMBER = "+12025550100"
_MESSAGES_PATH = re.compile(r"/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json")


_PIN = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


def _echo(error: str, body: str) -> str:
    """A provider's error text, which may quote what it was sent: "{body}" is the message's text,
    "{pin}" the PIN in it and "{plain_pin}" that PIN without its dashes."""
    found = _PIN.search(body)
    pin = found.group() if found else ""
    return error.format(body=body, pin=pin, plain_pin=pin.replace("-", ""))


# ---------------------------------------------------------------- email


@dataclass
class EmailProviderState:
    failures_left: int = 0
    # The error the provider answers a failed send with; see `_echo` for what it can quote back.
    error: str = "ESP is unavailable"
    attempted: list = field(default_factory=list)  # every EmailMessage handed over, accepted or not
    seconds: float = 0.0  # how long each send takes, as a provider across the internet does
    refuse_recipients: bool = False  # reject every recipient, as for a suppressed or invalid address


class FlakyEmailBackend(AnymailTestBackend):
    """Anymail's test backend with an outage: it refuses the next `failures_left` sends.

    Accepted messages go to `django.core.mail.outbox`, as with the test backend; refused ones do not.
    Message ids are strings, as real providers give ("test-0", "test-1", ...).
    """

    state = EmailProviderState()

    def post_to_esp(self, payload, message):
        state = type(self).state
        state.attempted.append(message)
        time.sleep(state.seconds)
        if state.failures_left > 0:
            state.failures_left -= 1
            raise AnymailAPIError(_echo(state.error, message.body), backend=self, email_message=message)
        if state.refuse_recipients:
            rejected = AnymailRecipientStatus(message_id=None, status="rejected")
            message.anymail_test_response = {"recipient_status": dict.fromkeys(message.to, rejected)}
        return super().post_to_esp(payload, message)

    def get_esp_message_id(self, message):
        return f"test-{mail.outbox.index(message)}"


# ---------------------------------------------------------------- Twilio


@dataclass
class TwilioRequest:
    path: str
    account_sid: str
    auth_user: str
    form: dict[str, str]
    status: int = 0  # what the fake answers, recorded before the answer goes out; 0 until then
    sid: str = ""


@dataclass
class _Failure:
    status: int
    message: str
    stall_seconds: float = 0.0
    code: int = 20500  # Twilio's error code, e.g. 21211 for an invalid 'To' number


class FakeTwilio(loadtest_fake_provider.LocalServer):
    """A Twilio Messages API on 127.0.0.1: POST /2010-04-01/Accounts/<sid>/Messages.json sends a text,
    GET on the same path lists the texts it took (filtered by To, From and DateSent>, newest first).

    A send is answered 201 with a message resource, or, for the failures queued with `fail_next`, an
    error status with Twilio's error body; `stall_next` makes it answer only after a delay. A text it
    took counts as sent at once (its date_sent is set). `fail_lookups` makes the next lists fail.
    """

    poll_seconds = 0.02

    def __init__(self):
        super().__init__()
        self.requests: list[TwilioRequest] = []  # sends (POST)
        self.lookups: list[dict[str, str]] = []  # lists (GET): their query parameters
        self._failures: list[_Failure] = []
        self._lookup_failures = 0
        self.redact_bodies = False  # list texts without their bodies, as Twilio's message redaction does
        self._taken: list[dict] = []  # the message resources of the texts accepted
        self._lock = threading.Lock()

    def fail_next(
        self, count: int, *, status: int = 503, message: str = "Service unavailable", code: int = 20500
    ) -> None:
        """Answer the next `count` requests with `status`, Twilio error `code` and `message` (see `_echo`)."""
        with self._lock:
            self._failures += [_Failure(status, message, code=code) for _ in range(count)]

    def stall_next(self, seconds: float) -> None:
        """Answer the next request (successfully) only after `seconds`."""
        with self._lock:
            self._failures.append(_Failure(201, "", stall_seconds=seconds))

    def fail_lookups(self, count: int) -> None:
        """Answer the next `count` lists with 503."""
        with self._lock:
            self._lookup_failures += count

    @property
    def accepted(self) -> list[TwilioRequest]:
        return [r for r in self.requests if r.status == 201]

    def _list(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        match = _MESSAGES_PATH.fullmatch(url.path)
        with self._lock:
            self.lookups.append(query)
            failing = self._lookup_failures > 0
            self._lookup_failures -= failing
            taken = list(self._taken)
        if match is None:
            return self._answer(
                handler, 404, {"code": 20404, "message": "The requested resource was not found"}
            )
        if failing:
            return self._answer(
                handler, 503, {"code": 20500, "message": "Service unavailable", "status": 503}
            )
        after = query.get("DateSent>")
        after = datetime.strptime(after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) if after else None
        found = [
            message | {"body": ""} if self.redact_bodies else message
            for message in reversed(taken)
            if query.get("To", message["to"]) == message["to"]
            and query.get("From", message["from"]) == message["from"]
            and (after is None or parsedate_to_datetime(message["date_sent"]) >= after)
        ][: int(query.get("PageSize", 50))]
        page_uri = f"{url.path}?{url.query}"
        self._answer(
            handler,
            200,
            {
                "messages": found,
                "end": max(len(found) - 1, 0),
                "first_page_uri": page_uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": int(query.get("PageSize", 50)),
                "previous_page_uri": None,
                "start": 0,
                "uri": page_uri,
            },
        )

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode()
        form = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        auth = handler.headers.get("Authorization", "")
        auth_user = ""
        if auth.startswith("Basic "):
            auth_user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        match = _MESSAGES_PATH.fullmatch(handler.path)
        request = TwilioRequest(
            path=handler.path, account_sid=match["sid"] if match else "", auth_user=auth_user, form=form
        )
        with self._lock:
            self.requests.append(request)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None and failure.stall_seconds:
            time.sleep(failure.stall_seconds)
        if match is None:
            status, body = 404, {"code": 20404, "message": "The requested resource was not found"}
        elif failure is not None and failure.status != 201:
            status = failure.status
            body = {
                "code": failure.code,
                "message": _echo(failure.message, form.get("Body", "")),
                "more_info": f"https://www.twilio.com/docs/errors/{failure.code}",
                "status": status,
            }
        else:
            status, body = 201, self._message_resource(match["sid"], form)
            request.sid = body["sid"]
            with self._lock:
                self._taken.append(body)
        # Recorded before the answer goes: a client that has its answer must find it recorded (set after,
        # a test reading `accepted` the moment its send returned could run before this thread did). What
        # the provider took it took, whether or not the client is still waiting to hear so.
        request.status = status
        self._answer(handler, status, body)

    @staticmethod
    def _message_resource(account_sid: str, form: dict[str, str]) -> dict:
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": sid,
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": now,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", ""),
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": form.get("To", ""),
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }


def closed_port_url() -> str:
    """The address of a port on 127.0.0.1 that nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------- Postmark, over HTTP


class FakePostmark(loadtest_fake_provider.FakePostmark):
    """The load test's fake Postmark on 127.0.0.1 (anymail's real Postmark backend sends to it), which
    also records each email's text and can hold the next one for a while before accepting it."""

    def __init__(self):
        super().__init__()
        self.received = 0  # requests that reached it, answered or not
        self.texts: list[str] = []  # the text of each email accepted
        self._stall = 0.0

    def stall_next(self, seconds: float) -> None:
        self._stall = seconds

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.received += 1
            stall, self._stall = self._stall, 0.0
        time.sleep(stall)
        handler.rfile = io.BytesIO(body)
        super()._handle(handler)

    def _took(self, payload: dict) -> None:
        self.texts.append(payload.get("TextBody", ""))
