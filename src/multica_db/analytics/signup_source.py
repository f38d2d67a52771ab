"""Read the ``multica_signup_source`` cookie the frontend stamps before signup.

The cookie is attacker-controlled input arriving on an unauthenticated request,
so decoding is strict and total: anything odd yields ``None`` (or loses the odd
value) instead of an exception, and nothing unbounded reaches PostHog.

The frontend writes ``encodeURIComponent(JSON.stringify(payload))`` with each
value already capped at 96 characters and drops the whole cookie when the JSON
exceeds 512 characters; the same bounds are re-applied here because a client
can send whatever it likes.
"""

from __future__ import annotations

import json
import re
from typing import Final, TypedDict
from urllib.parse import unquote_to_bytes, urlsplit

COOKIE_NAME: Final = "multica_signup_source"
MAX_PAYLOAD_CHARS: Final = 512
MAX_VALUE_CHARS: Final = 96

# The worst legitimate encoding is a 4-byte UTF-8 character per JSON character,
# i.e. twelve cookie characters; anything longer cannot decode to <= 512 chars,
# so it is rejected before spending work on it.
_MAX_RAW_CHARS: Final = MAX_PAYLOAD_CHARS * 12

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class SignupSource(TypedDict, total=False):
    """Where a signup came from; every key is optional."""

    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    referrer_origin: str


_UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def _query_unescape(raw: str) -> str | None:
    """Go's ``url.QueryUnescape``: ``+`` is a space, a malformed ``%`` is an error.

    ``urllib.parse.unquote`` silently keeps malformed escapes and replaces bad
    UTF-8, which would let garbage through as if it were data.
    """
    if _BAD_ESCAPE.search(raw):
        return None
    try:
        return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeError:
        return None


def _origin(value: str) -> str | None:
    """Reduce a referrer to ``scheme://host[:port]``; never keep a path or query.

    The frontend already sends only the origin; re-deriving it here means a
    hand-crafted cookie cannot smuggle a full URL (with tokens in it) upstream.
    """
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()[:MAX_VALUE_CHARS]
    if not value:
        return None
    try:
        # A JSON escape like \ud800 decodes to a lone surrogate: not text, and
        # not shippable (the event carrying it would be dropped whole).
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def decode_signup_source(cookie_value: str | None) -> SignupSource | None:
    """Decode the cookie into a :class:`SignupSource`, or ``None``.

    ``None`` means: absent, not URL-decodable, not valid UTF-8, longer than
    512 characters once decoded, not a JSON object, or nothing usable inside.
    Unknown keys, non-string values and values that are not Unicode text (a
    lone surrogate from a ``\\ud800`` escape) are dropped; values are capped at
    96 characters. Never raises.
    """
    try:
        return _decode(cookie_value)
    except Exception:  # hostile input must never take a signup down with it
        return None


def _decode(cookie_value: str | None) -> SignupSource | None:
    if not isinstance(cookie_value, str) or not cookie_value:
        return None
    if len(cookie_value) > _MAX_RAW_CHARS:
        return None
    text = _query_unescape(cookie_value)
    if text is None or len(text) > MAX_PAYLOAD_CHARS:
        return None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None

    source: SignupSource = {}
    for key in _UTM_KEYS:
        value = _clean(payload.get(key))
        if value is not None:
            source[key] = value
    referrer = _clean(payload.get("referrer_origin"))
    if referrer is not None:
        origin = _origin(referrer)
        if origin is not None:
            source["referrer_origin"] = origin[:MAX_VALUE_CHARS]
    return source or None
