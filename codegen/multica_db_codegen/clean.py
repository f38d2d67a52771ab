"""``multica-db clean``: remove what the generator made for this project (or, with
``--all``, everything it made on the analyzer's server and for this user).

By default only this project's own things go: the schema databases its cache
directory lists (unless another run is using one) and that cache directory. The
analyzer's server and the user cache are shared by every project of the user (and,
for a server, of other users and machines), so the server-wide leftovers — every
generator database, the spare, any build or throwaway database a killed run left —
and the user cache (compiled templates, the embedded server, stopped first) go only
with ``--all``. Generated code is the user's and stays.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from multica_db_codegen import cache, env


def clean(
    *, database_url: str | None = None, keep_server: bool = False, everything: bool = False
) -> list[str]:
    """Remove it; one line per thing removed (or kept, and why)."""
    from multica_db_codegen.analyze.server import embedded_data_dir

    lines: list[str] = []
    url = env.analyzer_url(database_url)
    pgdata = embedded_data_dir()
    cwd = os.getcwd()
    roots = sorted({cache.project_root(cwd), cwd})
    if everything:
        lines += _server(url or (_embedded_url() if pgdata.is_dir() and keep_server else None))
    else:
        names = [n for root in roots for n in _project_databases(root)]
        if names and (url or pgdata.is_dir()):
            lines += _server(url or _embedded_url(), names)
    for root in roots:
        project = Path(cache.project_dir(root))  # the snapshot beside it is committed: kept
        if project.is_dir():
            shutil.rmtree(project)
            lines.append(f"removed {project}")
    if everything:
        lines += _user_cache(pgdata, keep_server=keep_server)
    if not lines:
        lines.append("nothing to remove")
    return lines


def _project_databases(root: str) -> list[str]:
    """The schema databases a project's runs made (its cache lists its recent ones)."""
    from multica_db_codegen.analyze.server import SCHEMA_DB_PREFIX

    raw = cache.read_json(root, "schemas.json")
    listed = raw if isinstance(raw, list) else []
    return [n for n in listed if isinstance(n, str) and n.startswith(SCHEMA_DB_PREFIX)]


def _embedded_url() -> str:
    from multica_db_codegen.analyze.server import server_url

    return server_url(None)


def _server(url: str | None, names: list[str] | None = None) -> list[str]:
    """Drop ``names`` (None: every generator database) on the server at ``url``."""
    from multica_db_codegen.analyze.server import drop_generator_databases

    if url is None:
        return []
    dropped, busy = drop_generator_databases(url, names)
    return [f"dropped database {name}" for name in dropped] + [
        f"kept database {name}: in use by a running generator" for name in busy
    ]


def _user_cache(pgdata: Path, *, keep_server: bool) -> list[str]:
    """The user's multica-db directory: compiled templates, the embedded server."""
    from multica_db_codegen.analyze.server import stop_embedded_server

    lines: list[str] = []
    user = Path(cache.user_cache_dir())
    if not user.is_dir():
        return lines
    if pgdata.is_dir() and not keep_server:
        stop_embedded_server(pgdata)
        shutil.rmtree(pgdata)
        lines.append(f"stopped the embedded server and removed its data, {pgdata}")
    for entry in sorted(user.iterdir()):
        if entry == pgdata:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        lines.append(f"removed {entry}")
    if not any(user.iterdir()):
        user.rmdir()
    return lines
