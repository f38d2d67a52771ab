"""What an ``on_error`` callback receives when a batch is given up on.

posthog-python calls ``on_error(exception, batch)`` from its consumer thread
when an upload finally fails: an ``APIError`` carrying the HTTP status and
the server's message for a refused request, the network error otherwise.
Callbacks written for it check ``status`` and log ``str(error)``, so this
module gives refused requests an exception of the same shape (this package
does not depend on posthog-python, so it cannot be the same class); network
errors stay the standard library's own (``ConnectionRefusedError``,
``TimeoutError``, ``ssl.SSLError``: all ``OSError``, as requests' are).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: ``on_error(error, batch)``: the exception that made the batch fail and the
#: batch's events as they went on the wire (one JSON object per event).
OnError = Callable[[Exception, list[dict[str, Any]]], object]


class APIError(Exception):
    """PostHog answered a batch with an error status.

    ``status`` is the HTTP status (a string such as ``"N/A"`` when there was
    none to report), ``message`` the ``detail`` of a JSON error body, else the
    body as text, and ``retry_after`` the seconds a ``Retry-After`` header
    asked for, if any: the attributes posthog-python's ``APIError`` has.
    """

    def __init__(self, status: int | str, message: str, retry_after: float | None = None) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"[PostHog] {self.message} ({self.status})"


def response_message(body: bytes) -> str:
    """An error response's message: its JSON ``detail``, else the body as text."""
    text = body.decode("utf-8", "replace")
    try:
        detail = json.loads(text)["detail"]
    except (ValueError, KeyError, TypeError, IndexError):
        return text
    return detail if isinstance(detail, str) else str(detail)
