import asyncio
import contextlib
import os
import signal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from registration.hl7_feed.listener import Listener, listening_socket, tls_context

PARENT_CHECK_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Receive the EHR's HL7 v2 feed (ADT and SIU) over MLLP and apply it; answer each message with an "
        "ACK once it is stored. Runs beside gunicorn and the task worker (docs/hl7.md). SIGTERM or Ctrl-C "
        "stops it after the messages being applied are answered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default=None, help=f"address (default HL7_LISTEN_HOST: {settings.HL7_LISTEN_HOST})"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help=f"port (default HL7_LISTEN_PORT: {settings.HL7_LISTEN_PORT}; 0 any)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.HL7_LISTEN_WORKERS,
            help="processes sharing the port, one per core for the most messages a second (default "
            f"HL7_LISTEN_WORKERS: {settings.HL7_LISTEN_WORKERS}); each connection stays with one, in order",
        )

    def handle(self, *args, host, port, workers, **options):
        host = host or settings.HL7_LISTEN_HOST
        port = settings.HL7_LISTEN_PORT if port is None else port
        tls = tls_context()
        sock = listening_socket(host, port)
        mode = "MLLP over TLS" if tls else "MLLP"
        self.stdout.write(
            f"HL7 feed listening on {host}:{sock.getsockname()[1]} ({mode}, {workers} process(es))"
        )
        self.stdout.flush()
        if workers <= 1:
            asyncio.run(self._serve(sock, tls))
        else:
            self._serve_in_processes(sock, tls, workers)
        self.stdout.write("HL7 feed stopped")

    def _serve_in_processes(self, sock, tls, workers: int) -> None:
        """Fork the workers (no database connection is open yet: each opens its own), start a new one
        in place of one that dies, forward SIGTERM and SIGINT to them, and wait for them to stop."""
        connections.close_all()
        parent, children, stopping = os.getpid(), set(), []

        def fork() -> None:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    asyncio.run(self._serve(sock, tls, parent=parent))
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            children.add(pid)

        def forward(signum, frame):
            stopping.append(signum)
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        for _ in range(workers):
            fork()
        while children:
            pid, status = os.wait()
            children.discard(pid)
            if not stopping:
                self.stderr.write(f"hl7 worker {pid} ended ({status}): starting another")
                fork()

    async def _serve(self, sock, tls, *, parent: int | None = None) -> None:
        listener = Listener("", 0, tls=tls, sock=sock)
        await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if parent is not None:  # a worker whose parent was killed stops too, rather than serve alone
            watch = loop.create_task(_parent_watch(parent, stop))
        await stop.wait()
        if parent is not None:
            watch.cancel()
        await listener.stop()


async def _parent_watch(parent: int, stop: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
    stop.set()
