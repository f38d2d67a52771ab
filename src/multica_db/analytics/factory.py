"""Pick the right client for this process from its environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from multica_db.analytics.client import PostHogClient
from multica_db.analytics.config import load_settings
from multica_db.analytics.noop import NoopClient
from multica_db.analytics.protocol import AnalyticsClient


def from_env(environ: Mapping[str, str] | None = None, **options: Any) -> AnalyticsClient:
    """A :class:`PostHogClient` when ``POSTHOG_API_KEY`` is set, else a :class:`NoopClient`.

    Opt-in by key is the contract: self-hosted instances and test runs have no
    key, or set ``ANALYTICS_DISABLED=1``, and therefore never ship anything.
    ``options`` are passed to :class:`PostHogClient` (queue size, intervals...).
    Building the client starts no thread; the first capture does.
    """
    settings = load_settings(environ)
    if not settings.enabled:
        return NoopClient()
    return PostHogClient(
        settings.api_key,
        host=settings.host,
        environment=settings.environment,
        **options,
    )
