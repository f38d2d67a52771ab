"""Environment handling: normalisation, from_env, public_config."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db import analytics
from multica_db.analytics.client import THREAD_NAME
from multica_db.analytics.config import analytics_disabled
from tests.analytics.sink import Sink


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("production", "production"),
        ("PROD", "production"),
        (" live ", "production"),
        ("staging", "staging"),
        ("Stage", "staging"),
        ("preview", "staging"),
        ("dev", "dev"),
        ("development", "dev"),
        ("local", "dev"),
        ("", "dev"),
        (None, "dev"),
        ("productionish", "dev"),
    ],
)
def test_normalise_environment(raw: str | None, expected: str) -> None:
    assert analytics.normalise_environment(raw) == expected


def test_environment_prefers_analytics_environment_then_app_env() -> None:
    both = {"ANALYTICS_ENVIRONMENT": "staging", "APP_ENV": "production"}
    assert analytics.load_settings(both).environment == "staging"
    assert analytics.load_settings({"APP_ENV": "prod"}).environment == "production"
    assert analytics.load_settings(
        {"ANALYTICS_ENVIRONMENT": " ", "APP_ENV": "stg"}
    ).environment == ("staging")
    assert analytics.load_settings({}).environment == "dev"


def test_host_defaults_and_is_trimmed() -> None:
    assert analytics.load_settings({}).host == analytics.DEFAULT_HOST == "https://us.i.posthog.com"
    assert analytics.load_settings({"POSTHOG_HOST": "https://eu.i.posthog.com/ "}).host == (
        "https://eu.i.posthog.com"
    )


@pytest.mark.parametrize(
    ("value", "disabled"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("0", False),
        ("", False),
        ("false", False),
    ],
)
def test_analytics_disabled_values(value: str, disabled: bool) -> None:
    assert analytics_disabled({"ANALYTICS_DISABLED": value}) is disabled


def test_from_env_without_key_is_noop() -> None:
    assert isinstance(analytics.from_env({}), analytics.NoopClient)
    assert isinstance(analytics.from_env({"POSTHOG_API_KEY": "  "}), analytics.NoopClient)


@pytest.mark.parametrize("flag", ["true", "1"])
def test_from_env_disabled_wins_over_key(flag: str) -> None:
    env = {"POSTHOG_API_KEY": "phc_x", "ANALYTICS_DISABLED": flag}
    assert isinstance(analytics.from_env(env), analytics.NoopClient)


def test_from_env_with_key_configures_posthog_client() -> None:
    env = {
        "POSTHOG_API_KEY": "phc_x",
        "POSTHOG_HOST": "http://127.0.0.1:9/",
        "APP_ENV": "production",
    }
    client = analytics.from_env(env, flush_interval=0.5)
    try:
        assert isinstance(client, analytics.PostHogClient)
        assert client.host == "http://127.0.0.1:9"
        assert client.environment == "production"
    finally:
        client.close(0)


def test_from_env_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTHOG_API_KEY", raising=False)
    assert isinstance(analytics.from_env(), analytics.NoopClient)


def test_noop_from_env_ships_nothing_and_starts_no_thread(sink: Sink) -> None:
    client = analytics.from_env({"POSTHOG_HOST": sink.url, "POSTHOG_API_KEY": ""})
    for i in range(200):
        assert client.capture(analytics.workspace_created(user_id=f"u{i}", workspace_id="w"))
    assert client.flush(1.0)
    assert client.close(1.0)
    assert sink.requests == []
    assert THREAD_NAME not in {t.name for t in threading.enumerate()}
    assert client.stats == analytics.Stats()


def test_public_config_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTHOG_API_KEY", "phc_old")
    monkeypatch.delenv("POSTHOG_HOST", raising=False)
    monkeypatch.delenv("ANALYTICS_DISABLED", raising=False)
    assert analytics.public_config() == {
        "posthog_key": "phc_old",
        "posthog_host": "https://us.i.posthog.com",
    }
    monkeypatch.setenv("POSTHOG_API_KEY", "phc_rotated")
    monkeypatch.setenv("POSTHOG_HOST", "https://eu.i.posthog.com")
    assert analytics.public_config() == {
        "posthog_key": "phc_rotated",
        "posthog_host": "https://eu.i.posthog.com",
    }


def test_public_config_self_hosted_has_blank_key() -> None:
    assert analytics.public_config({})["posthog_key"] == ""
    disabled = {"POSTHOG_API_KEY": "phc_x", "ANALYTICS_DISABLED": "1"}
    assert analytics.public_config(disabled)["posthog_key"] == ""


def test_client_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError):
        analytics.PostHogClient("")
    with pytest.raises(ValueError):
        analytics.PostHogClient("k", host="ftp://example.com")
    with pytest.raises(ValueError):
        analytics.PostHogClient("k", batch_size=0)
    with pytest.raises(ValueError):
        analytics.PostHogClient("k", batch_size=64, max_batch_size=10)


@pytest.mark.parametrize(
    "host",
    [
        "https://",
        "http://",
        "https:",
        "https:/",
        "https:///",
        "https:///batch",
        "//",
        "",
        " ",
        "https://:443",
        "https://host:",
        "https://host:0",
        "https://host:99999",
        "https://user:pw@host",
        "https://host?x=1",
        "https://host#frag",
        "https://ho st",
        " https://host",
        "https://host\n",
        "https://ho%st",
        "https://[nothex]",
        "https://...",
        "ftp://host",
        ":443",
        "/batch",
    ],
)
def test_hosts_that_name_no_server_are_rejected(host: str) -> None:
    with pytest.raises(ValueError):
        analytics.PostHogClient("k", host=host)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("https://eu.i.posthog.com", "https://eu.i.posthog.com/batch/"),
        ("https://eu.i.posthog.com/", "https://eu.i.posthog.com/batch/"),
        ("eu.i.posthog.com", "https://eu.i.posthog.com/batch/"),
        ("localhost:8000", "https://localhost:8000/batch/"),
        ("http://127.0.0.1:8000/ingest/", "http://127.0.0.1:8000/ingest/batch/"),
        ("http://[::1]:8000", "http://[::1]:8000/batch/"),
    ],
)
def test_hosts_that_name_a_server_are_accepted(host: str, url: str) -> None:
    from multica_db.analytics.transport import HttpTransport

    analytics.PostHogClient("k", host=host).close(0)
    assert HttpTransport(host).url == url


def test_posthog_host_without_a_name_fails_from_env() -> None:
    with pytest.raises(ValueError):
        analytics.from_env({"POSTHOG_API_KEY": "k", "POSTHOG_HOST": "https://"})


HOST_PARTS = st.sampled_from(
    [
        "https://",
        "http://",
        "ftp://",
        "//",
        "",
        "https:",
        "user:pw@",
        "[::1]",
        "[::1",
        "h",
        "ho.st",
        ":",
        ":443",
        ":0",
        ":99999",
        ":x",
        "/",
        "/p/",
        "?q",
        "#f",
        " ",
        "\n",
        "%",
        "@",
        "-",
    ]
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(parts=st.lists(HOST_PARTS, max_size=5))
def test_a_host_is_refused_or_names_a_server(parts: list[str]) -> None:
    """Whatever the string, the client either refuses it or knows exactly where to send."""
    from urllib.parse import urlsplit

    from multica_db.analytics.transport import HttpTransport

    host = "".join(parts)
    try:
        transport = HttpTransport(host)
    except ValueError:
        with pytest.raises(ValueError):
            analytics.PostHogClient("k", host=host)
        return
    url = urlsplit(transport.url)
    assert url.scheme in ("http", "https")
    assert url.hostname
    assert all(c.isalnum() or c in "-._:" for c in url.hostname)
    assert url.port is None or 0 < url.port < 65536
    assert url.path.endswith("/batch/")
    assert not (url.username or url.query or url.fragment)
    analytics.PostHogClient("k", host=host).close(0)
