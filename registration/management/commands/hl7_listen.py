import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from registration.hl7_feed.listener import Listener, tls_context


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

    def handle(self, *args, host, port, **options):
        host = host or settings.HL7_LISTEN_HOST
        port = settings.HL7_LISTEN_PORT if port is None else port
        asyncio.run(self._serve(host, port))

    async def _serve(self, host: str, port: int) -> None:
        tls = tls_context()
        listener = Listener(host, port, tls=tls)
        bound = await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write(f"HL7 feed listening on {host}:{bound} ({'MLLP over TLS' if tls else 'MLLP'})")
        self.stdout.flush()
        await stop.wait()
        await listener.stop()
        self.stdout.write("HL7 feed stopped")
