"""decode_signup_source: what the browser writes decodes; hostile input never raises."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multica_db.analytics import decode_signup_source
from multica_db.analytics.signup_source import MAX_PAYLOAD_CHARS, MAX_VALUE_CHARS

KNOWN = {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer_origin"}


def encode_uri_component(text: str) -> str:
    """What the frontend's ``encodeURIComponent`` produces."""
    return quote(text, safe="-_.!~*'()")


def cookie(payload: Any) -> str:
    return encode_uri_component(json.dumps(payload, separators=(",", ":")))


def test_round_trip_of_what_the_frontend_writes() -> None:
    payload = {
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "launch week #3",
        "utm_term": "agents & issues",
        "utm_content": "héllo ✓",
        "referrer_origin": "https://news.ycombinator.com",
    }
    assert decode_signup_source(cookie(payload)) == payload


def test_plus_decodes_to_space_like_query_unescape() -> None:
    assert decode_signup_source('{"utm_source":"a+b"}') == {"utm_source": "a b"}


def test_unknown_keys_and_non_string_values_are_dropped() -> None:
    payload = {"utm_source": "x", "utm_medium": 3, "utm_term": None, "evil": "y", "utm_content": []}
    assert decode_signup_source(cookie(payload)) == {"utm_source": "x"}


def test_values_are_capped() -> None:
    result = decode_signup_source(cookie({"utm_campaign": "c" * 200}))
    assert result == {"utm_campaign": "c" * MAX_VALUE_CHARS}


def test_referrer_is_reduced_to_its_origin() -> None:
    full = "https://Search.Example.com:8443/path?q=secret-token#frag"
    assert decode_signup_source(cookie({"referrer_origin": full})) == {
        "referrer_origin": "https://search.example.com:8443"
    }


@pytest.mark.parametrize(
    "referrer", ["javascript:alert(1)", "not a url", "https://user:pw@host", "http://h:99999"]
)
def test_unusable_referrers_are_dropped(referrer: str) -> None:
    assert decode_signup_source(cookie({"referrer_origin": referrer, "utm_source": "s"})) == {
        "utm_source": "s"
    }


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "%",  # truncated escape
        "%7B%22utm_source%22%3A%22x%22%7",  # truncated escape at the end
        "%zz",
        "%7B%22utm_source%22%3A%22%FF%22%7D",  # escapes to invalid UTF-8
        cookie(["utm_source", "x"]),  # not an object
        cookie("utm_source"),
        "not json",
        cookie({"utm_source": ""}),  # nothing usable
        cookie({"other": "x"}),
        cookie({"utm_source": "x", "utm_content": "y" * (MAX_PAYLOAD_CHARS)}),  # over 512
        "{" * 100_000,
    ],
)
def test_rejected_cookies(raw: str | None) -> None:
    assert decode_signup_source(raw) is None


def test_exactly_512_characters_is_accepted() -> None:
    payload = {"utm_source": "s", "utm_term": ""}
    text = json.dumps(payload, separators=(",", ":"))
    payload["utm_term"] = "t" * (MAX_PAYLOAD_CHARS - len(text))
    text = json.dumps(payload, separators=(",", ":"))
    assert len(text) == MAX_PAYLOAD_CHARS
    # Over-cap values are truncated, but the payload itself is within the limit.
    assert decode_signup_source(encode_uri_component(text)) == {
        "utm_source": "s",
        "utm_term": "t" * MAX_VALUE_CHARS,
    }
    assert decode_signup_source(encode_uri_component(text[:-2] + 'tt"}')) is None


def _check_shape(result: object) -> None:
    if result is None:
        return
    assert isinstance(result, dict)
    assert result, "an empty source is reported as None"
    assert set(result) <= KNOWN
    for value in result.values():
        assert isinstance(value, str)
        assert 0 < len(value) <= MAX_VALUE_CHARS


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text_never_raises(raw: str) -> None:
    _check_shape(decode_signup_source(raw))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_percent_encoded_bytes_never_raises(raw: bytes) -> None:
    _check_shape(decode_signup_source("".join(f"%{b:02X}" for b in raw)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=120),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*sorted(KNOWN - {"referrer_origin"}), "x", "utm_", "__proto__"]),
        json_values,
        max_size=7,
    )
)
def test_fuzz_json_objects_keep_only_known_string_values(payload: dict[str, Any]) -> None:
    raw = cookie(payload)
    result = decode_signup_source(raw)
    _check_shape(result)
    if len(json.dumps(payload, separators=(",", ":"))) > MAX_PAYLOAD_CHARS:
        assert result is None
        return
    expected = {
        k: v.strip()[:MAX_VALUE_CHARS]
        for k, v in payload.items()
        if k in KNOWN and isinstance(v, str) and v.strip()
    }
    assert result == (expected or None)
