"""HTTPS against a local server whose certificate comes from a CA made by the test."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from multica_db.analytics import Event, PostHogClient
from tests.analytics.conftest import FAST
from tests.analytics.sink import Sink
from tests.analytics.tls import LocalCA, make_ca


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("ca"), server_names=("localhost",))


@pytest.fixture
def tls_sink(ca: LocalCA) -> Iterator[Sink]:
    server = Sink(tls=ca.server_context(), hostname="localhost").start()
    try:
        yield server
    finally:
        server.stop()


def deliver(host: str, **options: object) -> PostHogClient:
    client = PostHogClient("phc_tls", host=host, **{**FAST, **options})  # type: ignore[arg-type]
    for i in range(3):
        client.capture(Event("tls_event", f"u{i}"))
    assert client.flush(10.0)
    client.close(1.0)
    return client


def test_verification_is_on_by_default(tls_sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    client = deliver(tls_sink.url)
    assert tls_sink.requests == []  # the handshake failed: nothing reached the server
    stats = client.stats
    # A certificate that does not verify will not heal by retrying: one try.
    assert (stats.sent, stats.failed, stats.retried) == (0, 3, 0)


def test_ca_bundle_option_is_trusted(tls_sink: Sink, ca: LocalCA) -> None:
    client = deliver(tls_sink.url, ca_bundle=ca.ca_pem)
    assert client.stats.sent == 3
    assert len(tls_sink.delivered) == 3


def test_ssl_context_option_is_used(tls_sink: Sink, ca: LocalCA) -> None:
    context = ssl.create_default_context(cafile=str(ca.ca_pem))
    client = deliver(tls_sink.url, ssl_context=context)
    assert client.stats.sent == 3


def test_ssl_cert_file_environment_still_works(
    tls_sink: Sink, ca: LocalCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_pem))
    assert deliver(tls_sink.url).stats.sent == 3


def test_certificate_for_another_host_is_refused(tls_sink: Sink, ca: LocalCA) -> None:
    # Same server, same trusted CA, but addressed by a name the certificate lacks.
    wrong = tls_sink.url.replace("localhost", "127.0.0.1")
    client = deliver(wrong, ca_bundle=ca.ca_pem)
    assert tls_sink.requests == []
    assert (client.stats.sent, client.stats.failed) == (0, 3)


def test_ca_bundle_and_ssl_context_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ca_bundle"):
        PostHogClient("k", host="https://localhost", ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(ValueError, match="not both"):
        PostHogClient(
            "k",
            host="https://localhost",
            ssl_context=ssl.create_default_context(),
            ca_bundle=tmp_path,
        )
