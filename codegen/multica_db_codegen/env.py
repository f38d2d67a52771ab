"""The generator's environment variables, each read in one place (and nothing else here:
the warm path imports this module).

Read when asked, never kept: a long-lived process (watch, the tests) may change them.
"""

from __future__ import annotations

import os

ANALYZER_URL = "MULTICA_DB_ANALYZER_URL"
NO_CACHE = "MULTICA_DB_NO_CACHE"
STRICT_FUNCTIONS = "MULTICA_DB_STRICT_FUNCTION_CHECKS"
STRICT_NULLABILITY = "MULTICA_DB_NULLABILITY_STRICT"


def analyzer_url(explicit: str | None = None) -> str | None:
    """The server the analyzer may create databases on: the flag's, else the variable's."""
    return explicit or os.environ.get(ANALYZER_URL) or None


def cache_enabled() -> bool:
    return os.environ.get(NO_CACHE, "").strip().lower() in ("", "0", "false", "no")


def strict_functions() -> bool:
    """A call to a function the schema lacks is an error, not an ``Any`` result."""
    return bool(os.environ.get(STRICT_FUNCTIONS))


def strict_nullability() -> bool:
    """A statement shape the nullability engine fails on raises instead of "nullable"."""
    return bool(os.environ.get(STRICT_NULLABILITY))


def user_cache_dir() -> str:
    """The user's multica-db directory: the embedded server, the compiled templates.

    What lives here belongs to the installed generator, not to one project.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "multica-db")
