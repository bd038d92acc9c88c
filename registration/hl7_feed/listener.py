"""MLLP over TCP, or over TLS: each framed message (0x0B ... 0x1C 0x0D) is stored and applied by
`services.message_receive` in a worker thread, then answered with its ACK, in order per connection.

Limits: a message over HL7_MAX_MESSAGE_BYTES is drained and answered AR; connections over
HL7_MAX_CONNECTIONS are closed at once; a connection sending faster than HL7_MAX_MESSAGES_PER_SECOND
is slowed (nothing is refused for speed); a silent connection is closed after HL7_IDLE_TIMEOUT. While
the database is down a message is retried for DB_RETRY_SECONDS and then the connection is closed
without an ACK, so the sender keeps the message and sends it again.
"""

import asyncio
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connection

from registration.hl7_feed.services import Receipt, message_failed, message_receive, message_too_large

log = logging.getLogger(__name__)
START, END = b"\x0b", b"\x1c\x0d"
DB_RETRY_SECONDS = 20  # under the 30 s response timeout docs/hl7.md advises engines to use
CONFLICT_RETRIES = 3  # two connections adding the same new parent at once: the loser tries again
TOO_LARGE = object()


def listening_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound before worker processes are started so that they share it.

    SO_REUSEPORT lets a listener started again bind at once, even while processes of one that was
    killed are still closing.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class Listener:
    def __init__(
        self, host: str, port: int, *, tls: ssl.SSLContext | None = None, sock: socket.socket | None = None
    ):
        self.host, self.port, self.tls, self.sock = host, port, tls, sock
        self.max_bytes = settings.HL7_MAX_MESSAGE_BYTES
        self.server: asyncio.Server | None = None
        self.stopping = False
        self.idle: dict[asyncio.StreamWriter, bool] = {}  # open connections: waiting for a message?
        self.closed = asyncio.Event()

    async def start(self) -> int:
        """Listen; return the port (useful when asked for port 0)."""
        where = {"sock": self.sock} if self.sock else {"host": self.host, "port": self.port}
        self.server = await asyncio.start_server(
            self._connection, **where, ssl=self.tls, limit=self.max_bytes + len(END)
        )
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting and close connections; a message being applied finishes and is answered first."""
        self.stopping = True
        if self.server is not None:
            self.server.close()
        for writer, idle in list(self.idle.items()):
            if idle:
                writer.close()
        while self.idle:
            self.closed.clear()
            await self.closed.wait()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = (writer.get_extra_info("peername") or ("?", "?"))[:2]
        peer = f"{host}:{port}"
        if self.stopping or len(self.idle) >= settings.HL7_MAX_CONNECTIONS:
            log.warning("hl7 connection refused: %d open already peer=%s", len(self.idle), peer)
            writer.close()
            return
        if not client_allowed(writer.get_extra_info("peercert")):
            log.warning("hl7 connection refused: client certificate not on the allow-list peer=%s", peer)
            writer.close()
            return
        # One thread, so one database connection, per connection: its messages are applied in order.
        worker = ThreadPoolExecutor(1, thread_name_prefix="hl7")
        pace = Pace(settings.HL7_MAX_MESSAGES_PER_SECOND)
        loop = asyncio.get_running_loop()
        self.idle[writer] = True
        try:
            while not self.stopping:
                try:
                    frame = await asyncio.wait_for(self._frame(reader), settings.HL7_IDLE_TIMEOUT)
                except (TimeoutError, ConnectionError, ssl.SSLError):
                    break
                if frame is None:
                    break
                self.idle[writer] = False
                await pace.wait()
                receipt = await loop.run_in_executor(worker, self._receive, frame, peer)
                if receipt is None:  # the database stayed down: no ACK, the sender keeps the message
                    break
                writer.write(START + receipt.ack.encode("utf-8") + END)
                await writer.drain()
                self.idle[writer] = True
        except (ConnectionError, ssl.SSLError):
            pass  # the sender went away; what it was not answered it sends again
        finally:
            await loop.run_in_executor(worker, _database_close)
            worker.shutdown(wait=False)
            writer.close()
            del self.idle[writer]
            self.closed.set()

    async def _frame(self, reader: asyncio.StreamReader):
        """The next message's bytes, TOO_LARGE (drained), or None at the end of the stream."""
        try:
            block = await reader.readuntil(END)
        except asyncio.IncompleteReadError:
            return None  # closed mid-message: not acknowledged, so the sender sends it again
        except asyncio.LimitOverrunError as over:
            try:
                await self._drain(reader, over.consumed)
            except asyncio.IncompleteReadError:
                return None  # the sender left in the middle of a message over the limit
            return TOO_LARGE
        body = block[: -len(END)]
        start = body.rfind(START)
        return body[start + 1 :] if start != -1 else body  # bytes before the start block are noise

    async def _drain(self, reader: asyncio.StreamReader, consumed: int) -> None:
        while True:
            await reader.readexactly(max(consumed, 1))
            try:
                await reader.readuntil(END)
                return
            except asyncio.LimitOverrunError as over:
                consumed = over.consumed

    def _receive(self, frame, peer: str) -> Receipt | None:
        """Store and apply in this worker thread; with pooled connections (production), the connection
        goes back to the pool after each message, so more senders than the pool's size can connect."""
        try:
            return self._receive_retrying(frame, peer)
        finally:
            if getattr(connection, "pool", None) is not None:
                connection.close()

    def _receive_retrying(self, frame, peer: str) -> Receipt | None:
        """Store and apply, retrying while the database cannot answer."""
        deadline, pause, conflicts = time.monotonic() + DB_RETRY_SECONDS, 0.1, 0
        while True:
            try:
                if frame is TOO_LARGE:
                    return message_too_large(peer=peer, limit=self.max_bytes)
                return message_receive(frame, peer=peer)
            except IntegrityError:
                conflicts += 1
                if conflicts > CONFLICT_RETRIES:
                    return _failed(frame, peer)
            except (OperationalError, InterfaceError) as error:
                log.warning("hl7 database unavailable (%s): retrying", type(error).__name__)
                connection.close()  # the next try opens a new connection
                if time.monotonic() > deadline:
                    log.error(
                        "hl7 database unavailable for %ss: connection closed unanswered", DB_RETRY_SECONDS
                    )
                    return None
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
            except Exception:  # a message that breaks our code is refused, kept for admins, and logged
                log.exception("hl7 message could not be applied")
                return _failed(frame, peer)


def _database_close() -> None:
    connection.close()  # run in the worker thread that opened it


def _failed(frame, peer: str) -> Receipt | None:
    try:
        return message_failed(frame, peer=peer)
    except DatabaseError:
        connection.close()
        return None


def client_allowed(certificate: dict | None) -> bool:
    """Whether a TLS client may send: any when no allow-list is set, else its subject CN is listed."""
    allowed = settings.HL7_TLS_ALLOWED_CLIENTS
    if not allowed:
        return True
    if not certificate:
        return False
    names = [value for part in certificate.get("subject", ()) for key, value in part if key == "commonName"]
    return any(name in allowed for name in names)


def tls_context() -> ssl.SSLContext | None:
    """TLS when HL7_TLS_CERT and HL7_TLS_KEY are set; client certificates required with HL7_TLS_CLIENT_CA."""
    if not settings.HL7_TLS_CERT:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.HL7_TLS_CERT, settings.HL7_TLS_KEY or None)
    if settings.HL7_TLS_CLIENT_CA:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(settings.HL7_TLS_CLIENT_CA)
    return context


class Pace:
    """At most `rate` messages a second on one connection: the next one waits, it is not refused."""

    def __init__(self, rate: int):
        self.interval = 1 / rate if rate > 0 else 0
        self.next_at = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class RunningListener:
    """A listener on its own event loop in a background thread: for tests and the load script."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None):
        self.listener = Listener(host, port, tls=tls)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)
        self.port = self._port

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self._port = self.loop.run_until_complete(self.listener.start())
        started.set()
        self.loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
