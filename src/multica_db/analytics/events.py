"""Funnel events: small immutable values built on the caller's thread.

Constructors do the cheap, deterministic work (pick the distinct id, derive
the email domain, fill the common properties) so that the only thing a request
handler pays for at capture time is building one frozen object. Everything
expensive (merging client-wide properties, JSON, uuids) happens later on the
shipper's worker thread.

Property choices follow the funnel contract: properties that cannot be computed
atomically under concurrency (``is_first_workspace``,
``nth_issue_for_workspace``) are deliberately absent; PostHog derives them from
the event stream instead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NoReturn

from multica_db.analytics.signup_source import SignupSource

#: Bumped whenever an event's property set changes meaning, so dashboards can
#: tell old and new shapes apart.
EVENT_SCHEMA_VERSION = 1

Id = str | uuid.UUID
SignupMethod = Literal["verification_code", "google_oauth"]

_EMPTY: Mapping[str, object] = MappingProxyType({})
#: Wire timestamps are ISO 8601 with a four-digit year, from the epoch on.
_EARLIEST = 0.0
_LATEST = 253_402_300_800.0  # 10000-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Event:
    """One analytics event, ready to be queued.

    ``timestamp`` is a float from :func:`time.time` taken when the event is
    built, i.e. on the caller's thread at the moment the fact happened, not when
    the worker gets round to shipping it.

    Everything that would make the shipper drop the event as ``invalid`` is
    refused here instead, where the bug is: an empty name or distinct id, a
    name that is not a string, a name or distinct id that is not valid
    Unicode (a lone surrogate), a timestamp that is not a finite time between
    1970 and 9999. A distinct id that is not a string (a ``UUID`` from a
    psycopg row, an ``int``) is converted with ``str()``, as posthog-python
    does. ``uuid``, when given, is the event's id on the wire (PostHog
    de-duplicates on it); otherwise the worker makes one.
    """

    name: str
    distinct_id: str
    properties: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    timestamp: float = field(default_factory=time.time)
    uuid: str | None = None

    def __post_init__(self) -> None:
        name = self.name
        distinct_id: object = self.distinct_id
        if name is None or distinct_id is None:
            _missing(name=name, distinct_id=distinct_id)
        if type(name) is not str:
            if not isinstance(name, str):
                raise TypeError(f"event name must be a str, got {type(name).__name__}")
            object.__setattr__(self, "name", name := str.__str__(name))
        if type(distinct_id) is not str:
            object.__setattr__(self, "distinct_id", distinct_id := str(distinct_id))
        if not name or not distinct_id:
            raise ValueError("event name and distinct_id must not be empty")
        # A lone surrogate is not text: it could never be sent. (isascii is O(1).)
        if not name.isascii():
            name.encode()
        if not distinct_id.isascii():
            distinct_id.encode()
        timestamp: object = self.timestamp
        if type(timestamp) is not float:
            if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
                raise TypeError(f"timestamp must be a float, got {type(timestamp).__name__}")
            object.__setattr__(self, "timestamp", timestamp := float(timestamp))
        if not _EARLIEST <= timestamp < _LATEST:  # NaN fails both
            raise ValueError(f"timestamp out of range: {timestamp!r}")
        if self.uuid is not None and type(self.uuid) is not str:
            raise TypeError("uuid must be a str")
        # Hand-built events get the same read-only copy the constructors make,
        # so the caller cannot mutate what the worker is about to serialise.
        if type(self.properties) is not MappingProxyType:
            object.__setattr__(self, "properties", _freeze(dict(self.properties)))


#: An event the compatibility client built and checked itself: name, distinct
#: id (plain non-empty ASCII ``str``), a private properties dict nobody else
#: holds, a finite timestamp, the wire uuid. Queued as is, so its hot path
#: pays for a tuple instead of a frozen dataclass; only the worker reads it.
Record = tuple[str, str, dict[str, object], float, str]


# A read-only view stops callers mutating an event after it was queued, which
# would race with the worker serialising it. (Called directly, not wrapped: the
# constructors run on request handlers' threads and every call counts.)
_freeze = MappingProxyType


def _missing(**ids: object) -> NoReturn:
    """Refuse a missing required id at the call, where the bug is.

    ``str(None)`` would otherwise file the event under a PostHog person called
    ``"None"``, merging every such event into one fake user.
    """
    missing = ", ".join(name for name, value in ids.items() if value is None)
    raise TypeError(f"{missing}: required, must not be None")


def _common(workspace_id: Id | None, user_id: Id | None, is_demo: bool) -> dict[str, object]:
    props: dict[str, object] = {
        "event_schema_version": EVENT_SCHEMA_VERSION,
        "is_demo": is_demo,
    }
    if workspace_id is not None:
        props["workspace_id"] = str(workspace_id)
    if user_id is not None:
        props["user_id"] = str(user_id)
    return props


def workspace_distinct_id(workspace_id: Id) -> str:
    """Distinct id for facts that belong to a workspace rather than a person.

    Used when there is no human actor (an unowned runtime, an issue executed by
    automation) so the event still lands on a stable PostHog person.
    """
    return f"workspace:{workspace_id}"


def email_domain(email: str | None) -> str | None:
    """The lower-cased domain of an address, or ``None`` when it has none.

    Only the domain is ever sent as a plain property: it is what the funnel
    segments on, and it is not personal data the way the full address is.
    """
    if not isinstance(email, str):
        return None
    _, at, domain = email.strip().rpartition("@")
    domain = domain.strip().lower()
    return domain if at and domain else None


def signup(
    *,
    user_id: Id,
    email: str | None,
    method: SignupMethod,
    signup_source: SignupSource | None = None,
    workspace_id: Id | None = None,
    is_demo: bool = False,
) -> Event:
    """A user row was newly created (verification code or Google OAuth).

    ``email=None`` (an identity provider that shares no address) ships no
    ``email`` at all: ``$set_once`` with ``null`` would pin the person's email
    to nothing before the real one is known.
    """
    if user_id is None:
        _missing(user_id=user_id)
    props = _common(workspace_id, user_id, is_demo)
    source = dict(signup_source) if signup_source else None
    props["email_domain"] = email_domain(email)
    props["signup_method"] = method
    props["signup_source"] = source
    set_once: dict[str, object] = {"signup_source": source}
    if email is not None:
        set_once["email"] = email
    props["$set_once"] = set_once
    return Event("signup", str(user_id), _freeze(props))


def workspace_created(
    *,
    user_id: Id,
    workspace_id: Id,
    is_demo: bool = False,
) -> Event:
    """Emitted after the CreateWorkspace transaction committed.

    No ``is_first_workspace``: two concurrent creations would both see "first".
    """
    if user_id is None or workspace_id is None:
        _missing(user_id=user_id, workspace_id=workspace_id)
    props = _common(workspace_id, user_id, is_demo)
    return Event("workspace_created", str(user_id), _freeze(props))


def runtime_registered(
    *,
    workspace_id: Id,
    runtime_id: Id,
    provider: str,
    runtime_mode: str,
    owner_id: Id | None = None,
    is_demo: bool = False,
) -> Event:
    """UpsertAgentRuntime inserted (``xmax = 0``) rather than updated a runtime.

    A runtime without an owner is attributed to its workspace.
    """
    if workspace_id is None or runtime_id is None:
        _missing(workspace_id=workspace_id, runtime_id=runtime_id)
    props = _common(workspace_id, owner_id, is_demo)
    props["runtime_id"] = str(runtime_id)
    props["provider"] = provider
    props["runtime_mode"] = runtime_mode
    distinct = str(owner_id) if owner_id is not None else workspace_distinct_id(workspace_id)
    return Event("runtime_registered", distinct, _freeze(props))


def issue_executed(
    *,
    workspace_id: Id,
    issue_id: Id,
    user_id: Id | None = None,
    agent_id: Id | None = None,
    task_id: Id | None = None,
    is_demo: bool = False,
) -> Event:
    """The atomic ``first_executed_at IS NULL`` update flipped for this issue.

    No ``nth_issue_for_workspace``: counting concurrent first completions is not
    atomic, so PostHog derives the ordinal from the stream.
    """
    if workspace_id is None or issue_id is None:
        _missing(workspace_id=workspace_id, issue_id=issue_id)
    props = _common(workspace_id, user_id, is_demo)
    props["issue_id"] = str(issue_id)
    if agent_id is not None:
        props["agent_id"] = str(agent_id)
    if task_id is not None:
        props["task_id"] = str(task_id)
    distinct = str(user_id) if user_id is not None else workspace_distinct_id(workspace_id)
    return Event("issue_executed", distinct, _freeze(props))


def team_invite_sent(
    *,
    inviter_id: Id,
    workspace_id: Id,
    invitation_id: Id,
    invitee_email: str | None,
    role: str,
    is_demo: bool = False,
) -> Event:
    """CreateInvitation succeeded; only the invitee's domain leaves the process."""
    if inviter_id is None or workspace_id is None or invitation_id is None:
        _missing(inviter_id=inviter_id, workspace_id=workspace_id, invitation_id=invitation_id)
    props = _common(workspace_id, inviter_id, is_demo)
    props["invitation_id"] = str(invitation_id)
    props["role"] = role
    props["invitee_email_domain"] = email_domain(invitee_email)
    return Event("team_invite_sent", str(inviter_id), _freeze(props))


def team_invite_accepted(
    *,
    user_id: Id,
    workspace_id: Id,
    invitation_id: Id,
    role: str,
    inviter_id: Id | None = None,
    is_demo: bool = False,
) -> Event:
    """AcceptInvitation succeeded for ``user_id``."""
    if user_id is None or workspace_id is None or invitation_id is None:
        _missing(user_id=user_id, workspace_id=workspace_id, invitation_id=invitation_id)
    props = _common(workspace_id, user_id, is_demo)
    props["invitation_id"] = str(invitation_id)
    props["role"] = role
    if inviter_id is not None:
        props["inviter_id"] = str(inviter_id)
    return Event("team_invite_accepted", str(user_id), _freeze(props))
