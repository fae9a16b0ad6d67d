"""TLS certificates are checked; speed limits hold (within 5% over 10 s) and change while running."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import download
from tests.helpers import wait_until


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl); it makes the test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(aloop: LoopRunner, certificate: tuple[Path, Path]) -> Iterator[FaultServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = FaultServer(ssl_options=context)
    aloop.run(server.start())
    yield server
    aloop.run(server.stop())


@pytest.mark.allow_logs(r"SSL Error on", r"ssl\.SSLError|SSLV3_ALERT|TLSV1_ALERT|certificate unknown")
def test_a_self_signed_certificate_is_refused(
    aloop: LoopRunner, tls_server: FaultServer, make_engine: Any, recorder: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    tls_server.add("s.bin", 1000)
    snapshot = aloop.run(download(make_engine, recorder, tls_server.url("/f/s.bin")))
    assert snapshot.state is State.FAILED
    assert "the server's TLS certificate was refused (self-signed certificate)" in snapshot.error
    assert "Squall always checks certificates" in snapshot.error
    assert snapshot.attempts == 1, "a refused certificate is not retried"
    assert tls_server.state.hits["/f/s.bin"] == 0
    # tornado's server side logs the failed handshake as a WARNING; that is the record allowed above.
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("CERTIFICATE_VERIFY_FAILED" in w for w in warnings), warnings


def test_a_certificate_from_a_trusted_authority_works(
    aloop: LoopRunner, tls_server: FaultServer, make_engine: Any, recorder: Recorder, certificate: tuple[Path, Path]
) -> None:
    data = tls_server.add("t.bin", 100_000)
    trusted = ssl.create_default_context(cafile=str(certificate[0]))

    def make(**kw: Any) -> Any:
        return make_engine(ssl_context=trusted, **kw)

    snapshot = aloop.run(download(make, recorder, tls_server.url("/f/t.bin")))
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert Path(snapshot.path).read_bytes() == data


def test_global_speed_limit_holds_within_five_percent_over_ten_seconds_and_changes_live(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    server.add("big.bin", 40 * 1024 * 1024)
    limit = 1024 * 1024
    measured: dict[str, float] = {}

    async def rate_over(engine: Any, download_id: int, seconds: float) -> float:
        start_bytes, start = engine.get(download_id).received, time.monotonic()
        await wait_until(lambda: time.monotonic() - start >= seconds, timeout=seconds + 1, what="the window")
        return (engine.get(download_id).received - start_bytes) / (time.monotonic() - start)

    async def scenario() -> None:
        engine = make_engine(rate_limit=limit, segment_threshold=1 << 40)
        await engine.start()
        try:
            download_id = engine.add(server.url("/f/big.bin"))
            await wait_until(lambda: engine.get(download_id).received > 0, what="the first bytes")
            measured["global"] = await rate_over(engine, download_id, 10)
            engine.set_rate_limit(2 * limit)
            await wait_until(lambda: engine.get(download_id).speed > 1.5 * limit, timeout=3, what="the raised limit")
            measured["raised"] = await rate_over(engine, download_id, 2)
            engine.set_item_rate_limit(download_id, limit // 2)
            await rate_over(engine, download_id, 0.3)  # settle
            measured["item"] = await rate_over(engine, download_id, 2)
            engine.cancel(download_id)
        finally:
            await engine.stop(2)

    aloop.run(scenario(), timeout=30)
    assert measured["global"] == pytest.approx(limit, rel=0.05), measured
    assert measured["raised"] == pytest.approx(2 * limit, rel=0.10), measured
    assert measured["item"] == pytest.approx(limit / 2, rel=0.10), measured
