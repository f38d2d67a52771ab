"""Delivery through an HTTP forward proxy and a CONNECT tunnel; NO_PROXY bypasses."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db.analytics import Event, PostHogClient
from multica_db.analytics.proxy import in_no_proxy_network, parse_proxy, proxy_for
from tests.analytics.conftest import FAST
from tests.analytics.proxies import ForwardProxy, forward_proxy
from tests.analytics.sink import Sink
from tests.analytics.tls import LocalCA, make_ca


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    with forward_proxy() as p:
        yield p


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


def deliver(host: str, n: int = 5, **options: object) -> PostHogClient:
    client = PostHogClient("phc_proxy", host=host, **{**FAST, **options})  # type: ignore[arg-type]
    for i in range(n):
        client.capture(Event("proxied", f"u{i}", {"i": i}))
    assert client.flush(10.0)
    client.close(1.0)
    return client


def test_http_through_explicit_forward_proxy(sink: Sink, proxy: ForwardProxy) -> None:
    client = deliver(sink.url, proxy=proxy.url)
    assert client.stats.sent == 5
    assert len(sink.delivered) == 5
    (seen,) = proxy.seen  # one batch, one request, in absolute form
    assert (seen.method, seen.target) == ("POST", sink.url + "/batch/")


def test_https_through_connect_tunnel(tls_sink: Sink, proxy: ForwardProxy, ca: LocalCA) -> None:
    client = deliver(tls_sink.url, proxy=proxy.url, ca_bundle=ca.ca_pem)
    assert client.stats.sent == 5
    assert len(tls_sink.delivered) == 5
    (seen,) = proxy.seen
    assert (seen.method, seen.target) == ("CONNECT", f"localhost:{tls_sink.port}")


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_http_proxy_from_the_environment(
    sink: Sink, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, proxy.url)
    assert deliver(sink.url).stats.sent == 5
    assert [s.method for s in proxy.seen] == ["POST"]


def test_https_proxy_from_the_environment(
    tls_sink: Sink, proxy: ForwardProxy, ca: LocalCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert deliver(tls_sink.url, ca_bundle=ca.ca_pem).stats.sent == 5
    assert [s.method for s in proxy.seen] == ["CONNECT"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "example.com,127.0.0.1", ".0.0.1"])
def test_no_proxy_bypasses(
    sink: Sink, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert deliver(sink.url).stats.sent == 5
    assert proxy.seen == []


def test_proxy_false_ignores_the_environment(
    sink: Sink, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert deliver(sink.url, proxy=False).stats.sent == 5
    assert proxy.seen == []


def test_proxy_credentials_are_sent(
    sink: Sink, tls_sink: Sink, proxy: ForwardProxy, ca: LocalCA
) -> None:
    expected = "Basic " + base64.b64encode(b"ann:s3cr:t").decode()
    proxy.state.require_auth = expected
    url = proxy.url.replace("http://", "http://ann:s3cr%3At@")
    assert deliver(sink.url, proxy=url).stats.sent == 5
    assert deliver(tls_sink.url, proxy=url, ca_bundle=ca.ca_pem).stats.sent == 5
    assert [s.headers["proxy-authorization"] for s in proxy.seen] == [expected, expected]
    # The credentials are for the proxy only: never forwarded upstream.
    assert all("Proxy-Authorization" not in r.headers for r in sink.requests)


def test_wrong_proxy_credentials_fail_the_batch(sink: Sink, proxy: ForwardProxy) -> None:
    proxy.state.require_auth = "Basic nope"
    client = deliver(sink.url, proxy=proxy.url)
    assert (client.stats.sent, client.stats.failed) == (0, 5)
    assert sink.requests == []


def test_proxy_url_forms(tmp_path: Path) -> None:
    assert parse_proxy("proxy.internal:3128").port == 3128
    assert parse_proxy("http://proxy.internal").port == 80
    for bad in ("socks5://proxy:1080", "https://proxy:443", "http://proxy:notaport", "http://"):
        with pytest.raises(ValueError):
            parse_proxy(bad)
    with pytest.raises(ValueError):
        PostHogClient("k", host="http://127.0.0.1:9", proxy="socks5://proxy:1080")


def test_unusable_proxy_from_environment_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://proxy:1080")
    assert proxy_for("https", "us.i.posthog.com", 443, None) is None


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.0/8", "10.0.0.0/8, 127.0.0.1/32", "127.0.0.1/24", " 127.0.0.0/8 ,x"]
)
def test_no_proxy_cidr_bypasses(
    sink: Sink, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert deliver(sink.url).stats.sent == 5
    assert proxy.seen == []


def test_no_proxy_cidr_elsewhere_still_proxies(
    sink: Sink, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8,::1/128")
    assert deliver(sink.url).stats.sent == 5
    assert [s.method for s in proxy.seen] == ["POST"]


ADDRESSES = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str), st.sampled_from(["a.b", "x"])
)
NETWORKS = st.one_of(
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
    st.sampled_from(["10.0.0.0/8", "garbage/8", "/", "10.0.0.0/33"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(host=ADDRESSES, entries=st.lists(NETWORKS, max_size=3))
def test_no_proxy_cidr_matches_requests(host: str, entries: list[str]) -> None:
    """requests is the reference for CIDR entries (the standard library has none)."""
    requests_utils = pytest.importorskip("requests.utils")
    no_proxy = ",".join(entries)
    expected = any(
        ":" not in host
        and requests_utils.is_ipv4_address(host)
        and requests_utils.is_valid_cidr(entry)
        and requests_utils.address_in_network(host, entry)
        for entry in entries
    )
    ours = in_no_proxy_network(host, no_proxy)
    if ":" not in host:
        assert ours == expected
    else:  # requests has no IPv6 networks; ipaddress is the reference
        assert ours == any(
            _valid(e)
            and ipaddress.ip_address(host) in (n := ipaddress.ip_network(e, strict=False))
            and n.prefixlen > 0
            for e in entries
        )


def _valid(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
