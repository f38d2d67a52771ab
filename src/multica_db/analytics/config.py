"""Environment variables -> analytics settings.

Everything here reads an explicit mapping (``os.environ`` by default) at call
time, never at import time, so a key rotated in the environment is picked up
without a restart and tests can pass a plain dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Environment = Literal["production", "staging", "dev"]

DEFAULT_HOST: Final = "https://us.i.posthog.com"

_TRUTHY: Final = frozenset({"1", "true", "yes", "on"})
_ENV_ALIASES: Final[Mapping[str, Environment]] = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "live": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "preview": "staging",
}


def normalise_environment(raw: str | None) -> Environment:
    """Collapse free-form deploy names into the three values dashboards filter on.

    Anything unrecognised is ``dev``: mislabelling a laptop as production would
    pollute the real funnel, the opposite mistake is harmless.
    """
    if not raw:
        return "dev"
    return _ENV_ALIASES.get(raw.strip().lower(), "dev")


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def analytics_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when the operator opted out explicitly with ``ANALYTICS_DISABLED``."""
    return _env(environ).get("ANALYTICS_DISABLED", "").strip().lower() in _TRUTHY


@dataclass(frozen=True, slots=True)
class Settings:
    """What :func:`multica_db.analytics.from_env` needs to build a client."""

    api_key: str
    host: str
    environment: Environment

    @property
    def enabled(self) -> bool:
        """Shipping happens only with a key; self-hosted installs have none."""
        return bool(self.api_key)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``POSTHOG_API_KEY``, ``POSTHOG_HOST`` and the environment name.

    The environment comes from ``ANALYTICS_ENVIRONMENT``, falling back to
    ``APP_ENV`` and then ``dev``. ``ANALYTICS_DISABLED`` blanks the key so
    every consumer of the settings sees analytics as off.
    """
    env = _env(environ)
    key = "" if analytics_disabled(env) else env.get("POSTHOG_API_KEY", "").strip()
    host = env.get("POSTHOG_HOST", "").strip().rstrip("/") or DEFAULT_HOST
    raw_environment = env.get("ANALYTICS_ENVIRONMENT", "").strip() or env.get("APP_ENV", "")
    return Settings(api_key=key, host=host, environment=normalise_environment(raw_environment))


def public_config(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``/api/config`` payload the frontend uses to initialise posthog-js.

    Read on every call on purpose: a rotated key must work without a restart,
    and a self-hosted instance (no key) must hand the browser a blank key.
    """
    settings = load_settings(environ)
    return {"posthog_key": settings.api_key, "posthog_host": settings.host}
