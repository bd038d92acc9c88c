"""A fake Postmark on 127.0.0.1 for the load test: anymail's real Postmark backend sends to it.

It refuses every send with 503 until `outage_until` (a `time.monotonic()` value), then accepts, and
records what it accepted so the run can count messages sent more than once.
"""

import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "loadtest-server-token"  # noqa: S105 (the fake checks it, as Postmark does)


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) in a thread of its own: a provider's stand-in answers
    POSTs in `_handle` and GETs in `_list`."""

    poll_seconds = 0.05  # how soon `stop` is noticed

    def __init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._list(self)

            def log_message(self, format, *args):  # quiet: no request lines on stderr
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # e.g. the client hung up on a stall
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(self.poll_seconds,), daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _list(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_error(404)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        payload = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the client stopped waiting
            pass


class FakePostmark(LocalServer):
    def __init__(self):
        super().__init__()
        self.outage_until = 0.0
        self.accepted: list[dict] = []  # {"to", "subject", "message_id"}
        self.refused = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.base_url}/"

    def accepted_per_address(self) -> Counter:
        with self._lock:
            return Counter(sent["to"].lower() for sent in self.accepted)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if handler.path != "/email" or handler.headers.get("X-Postmark-Server-Token") != TOKEN:
            return self._answer(handler, 401, {"ErrorCode": 10, "Message": "Bad or missing API token"})
        if time.monotonic() < self.outage_until:
            with self._lock:
                self.refused += 1
            return self._answer(
                handler, 503, {"ErrorCode": 503, "Message": "Service unavailable (load test)"}
            )
        payload = json.loads(body)
        sent = {"to": payload["To"], "subject": payload.get("Subject", ""), "message_id": str(uuid.uuid4())}
        with self._lock:
            self.accepted.append(sent)
        self._took(payload)  # before the answer: a client that has it finds the email recorded
        self._answer(
            handler,
            200,
            {
                "To": sent["to"],
                "SubmittedAt": "2026-11-26T12:00:00.0000000-05:00",
                "MessageID": sent["message_id"],
                "ErrorCode": 0,
                "Message": "OK",
            },
        )

    def _took(self, payload: dict) -> None:
        """Called with each email accepted, before the answer goes out."""
