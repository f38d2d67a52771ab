"""Product analytics: a non-blocking PostHog batch shipper and the funnel events.

Typical use in a service::

    from multica_db import analytics

    client = analytics.from_env()            # NoopClient unless POSTHOG_API_KEY is set
    ...
    client.capture(analytics.workspace_created(user_id=uid, workspace_id=wid))
    ...
    client.close(timeout=2.0)                 # on shutdown; bounded

Services written for posthog-python change one import instead
(``from multica_db.analytics import Posthog``); tests use
:mod:`multica_db.analytics.testing`.

See ``docs/analytics.md`` for configuration and failure semantics.
"""

from multica_db.analytics.client import PostHogClient
from multica_db.analytics.clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock
from multica_db.analytics.compat import Posthog
from multica_db.analytics.config import (
    DEFAULT_HOST,
    Environment,
    Settings,
    load_settings,
    normalise_environment,
    public_config,
)
from multica_db.analytics.errors import APIError, OnError
from multica_db.analytics.events import (
    EVENT_SCHEMA_VERSION,
    Event,
    issue_executed,
    runtime_registered,
    signup,
    team_invite_accepted,
    team_invite_sent,
    workspace_created,
)
from multica_db.analytics.factory import from_env
from multica_db.analytics.noop import NoopClient
from multica_db.analytics.protocol import AnalyticsClient
from multica_db.analytics.retry import RetryPolicy
from multica_db.analytics.signup_source import (
    COOKIE_NAME as SIGNUP_SOURCE_COOKIE,
)
from multica_db.analytics.signup_source import (
    SignupSource,
    decode_signup_source,
)
from multica_db.analytics.stats import Stats

__all__ = [
    "DEFAULT_HOST",
    "EVENT_SCHEMA_VERSION",
    "SIGNUP_SOURCE_COOKIE",
    "SYSTEM_CLOCK",
    "APIError",
    "AnalyticsClient",
    "Clock",
    "Environment",
    "Event",
    "ManualClock",
    "NoopClient",
    "OnError",
    "PostHogClient",
    "Posthog",
    "RetryPolicy",
    "Settings",
    "SignupSource",
    "Stats",
    "SystemClock",
    "decode_signup_source",
    "from_env",
    "issue_executed",
    "load_settings",
    "normalise_environment",
    "public_config",
    "runtime_registered",
    "signup",
    "team_invite_accepted",
    "team_invite_sent",
    "workspace_created",
]
