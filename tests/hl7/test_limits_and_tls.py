"""The feed's limits and its TLS: connections over HL7_MAX_CONNECTIONS are closed at once, a fast sender
is slowed (never refused), a silent connection is closed; over TLS only a client whose certificate the
practice's CA signed, with a CN on HL7_TLS_ALLOWED_CLIENTS, may send."""

import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from patients.models import Patient
from registration.hl7_feed.listener import tls_context
from registration.models import FeedMessage
from tests.hl7 import messages as m
from tests.hl7.conftest import FeedClient, closed_at_once

pytestmark = pytest.mark.django_db(transaction=True)


# ------------------------------------------------------------------------------------ limits


def test_a_connection_over_the_limit_is_closed_at_once(settings, listen, connect):
    settings.HL7_MAX_CONNECTIONS = 2
    port = listen().port
    first, second = connect(port), connect(port)
    assert first.ack(m.adt("A08", m.control_id(), mrn="MP-6001")).code == "AA"
    assert second.ack(m.adt("A08", m.control_id(), mrn="MP-6002")).code == "AA"

    third = connect(port)

    assert closed_at_once(third.socket)
    # Both open connections still work; once one closes, a new one is let in.
    assert first.ack(m.adt("A08", m.control_id(), mrn="MP-6003")).code == "AA"
    second.close()
    deadline = time.monotonic() + 10
    while True:
        late = connect(port)
        try:
            if late.ack(m.adt("A08", m.control_id(), mrn="MP-6004")).code == "AA":
                break
        except (AssertionError, OSError):
            pass  # the listener has not yet seen the second connection close
        assert time.monotonic() < deadline, "no connection was let in after one closed"
        time.sleep(0.05)
    assert Patient.objects.filter(mrn="MP-6004").exists()


def test_a_fast_sender_is_slowed_not_refused(settings, listen, connect):
    settings.HL7_MAX_MESSAGES_PER_SECOND = 20
    client = connect(listen().port)
    started = time.monotonic()

    codes = [client.ack(m.adt("A08", m.control_id(), mrn=f"MP-61{n:02d}")).code for n in range(30)]

    elapsed = time.monotonic() - started
    assert codes == ["AA"] * 30
    assert elapsed >= 29 / 20 * 0.9  # 29 intervals of 1/20 s at least; no upper bound on a busy machine
    assert Patient.objects.count() == 30


def test_a_silent_connection_is_closed_after_the_idle_timeout(settings, listen, connect):
    settings.HL7_IDLE_TIMEOUT = 1
    client = connect(listen().port, timeout=15)
    assert client.ack(m.adt("A08", m.control_id(), mrn="MP-6201")).code == "AA"

    assert closed_at_once(client.socket)  # recv returns when the listener closes, after a second


# ------------------------------------------------------------------------------------ TLS


OPENSSL = shutil.which("openssl") or "openssl"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)  # noqa: S603 (our arguments)


def certificate(folder: Path, name: str, cn: str, *, ca: str | None, extensions: str) -> None:
    """`name`.key and `name`.pem for subject CN `cn`, signed by `ca` (or self-signed, a CA)."""
    (folder / f"{name}.ext").write_text(extensions)
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-subj", f"/CN={cn}", "-out", f"{name}.csr", cwd=folder,
    )  # fmt: skip
    signer = ["-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial"] if ca else ["-key", f"{name}.key"]
    openssl(
        "x509", "-req", "-in", f"{name}.csr", *signer, "-days", "2", "-sha256",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder,
    )  # fmt: skip


CA_EXTENSIONS = (
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n"
)
LEAF = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """The practice's CA, the listener's certificate, and clients: the interface engine (allowed), an
    intruder the same CA signed (CN not allowed), and a stranger claiming the engine's CN, self-signed."""
    folder = tmp_path_factory.mktemp("pki")
    certificate(folder, "ca", "Maple Street Pediatrics HL7 CA", ca=None, extensions=CA_EXTENSIONS)
    server = LEAF + "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
    certificate(folder, "server", "localhost", ca="ca", extensions=server)
    client = LEAF + "extendedKeyUsage=clientAuth\n"
    certificate(folder, "engine", "interface-engine", ca="ca", extensions=client)
    certificate(folder, "intruder", "intruder", ca="ca", extensions=client)
    certificate(folder, "stranger", "interface-engine", ca=None, extensions=CA_EXTENSIONS)
    return folder


@pytest.fixture
def tls_port(settings, pki, listen) -> int:
    settings.HL7_TLS_CERT = str(pki / "server.pem")
    settings.HL7_TLS_KEY = str(pki / "server.key")
    settings.HL7_TLS_CLIENT_CA = str(pki / "ca.pem")
    settings.HL7_TLS_ALLOWED_CLIENTS = ["interface-engine"]
    return listen(tls=tls_context()).port


def client_tls(pki: Path, name: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    if name:
        context.load_cert_chain(pki / f"{name}.pem", pki / f"{name}.key")
    return context


def refused(port: int, context: ssl.SSLContext | None) -> bool:
    """Whether the listener drops this client without an answer to a good message."""
    try:
        client = FeedClient(port, tls=context)
    except (ssl.SSLError, ConnectionError):
        return True  # the handshake failed (TLS 1.2 refuses the certificate in it)
    try:
        return client.send_message(m.adt("A08", m.control_id(), mrn="MP-7999")) == b""
    except (ssl.SSLError, ConnectionError):
        return True  # TLS 1.3 refuses the certificate after the client's side of the handshake
    finally:
        client.close()


def test_an_allowed_client_over_tls_is_answered(tls_port, pki, connect):
    control = m.control_id()

    ack = connect(tls_port, tls=client_tls(pki, "engine")).ack(m.adt("A08", control, mrn="MP-7001"))

    assert (ack.code, ack.control_id) == ("AA", control)
    assert Patient.objects.filter(mrn="MP-7001").exists()


@pytest.mark.parametrize(
    "name", [None, "intruder", "stranger"], ids=["no-certificate", "cn-not-allowed", "other-ca"]
)
def test_a_client_without_an_allowed_certificate_is_refused_and_nothing_is_stored(tls_port, pki, name):
    assert refused(tls_port, client_tls(pki, name))

    assert not FeedMessage.objects.exists()
    assert not Patient.objects.exists()


def test_plain_tcp_to_the_tls_listener_is_refused(tls_port):
    with socket.create_connection(("127.0.0.1", tls_port), timeout=15) as plain:
        plain.sendall(b"\x0b" + m.adt("A08", m.control_id(), mrn="MP-7002").encode() + b"\x1c\x0d")

        assert closed_at_once(plain)
    assert not FeedMessage.objects.exists()


def test_without_an_allow_list_any_client_the_ca_signed_is_answered(settings, tls_port, pki, connect):
    settings.HL7_TLS_ALLOWED_CLIENTS = []  # read at each connection

    ack = connect(tls_port, tls=client_tls(pki, "intruder")).ack(m.adt("A08", m.control_id(), mrn="MP-7003"))

    assert ack.code == "AA"
