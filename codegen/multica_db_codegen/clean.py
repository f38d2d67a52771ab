"""``multica-db clean``: remove every database and file the generator made.

What ``generate`` leaves behind, so that nothing of it outlives the user's wish:
on the analyzer's server the schema databases, the spare, and any build or
throwaway database a killed run left; on disk the project's cache directory
and the user cache (compiled templates, the embedded server's data). Generated
code is the user's and stays.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from multica_db_codegen import cache, env


def clean(*, database_url: str | None = None, keep_server: bool = False) -> list[str]:
    """Remove it all; one line per thing removed (or kept, and why)."""
    from multica_db_codegen.analyze.server import (
        drop_generator_databases,
        embedded_data_dir,
        stop_embedded_server,
    )

    lines: list[str] = []
    url = env.analyzer_url(database_url)
    pgdata = embedded_data_dir()
    if url:
        dropped, busy = drop_generator_databases(url)
        lines += [f"dropped database {name}" for name in dropped]
        lines += [f"kept database {name}: in use by a running generator" for name in busy]
    elif pgdata.is_dir() and keep_server:
        from multica_db_codegen.analyze.server import server_url

        dropped, busy = drop_generator_databases(server_url(None))
        lines += [f"dropped database {name}" for name in dropped]
        lines += [f"kept database {name}: in use by a running generator" for name in busy]

    cwd = os.getcwd()
    roots = {cache.project_root(cwd), cwd}
    for root in sorted(roots):
        project = Path(cache.project_dir(root))  # the snapshot beside it is committed: kept
        if project.is_dir():
            shutil.rmtree(project)
            lines.append(f"removed {project}")

    user = Path(cache.user_cache_dir())
    if user.is_dir():
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
    if not lines:
        lines.append("nothing to remove")
    return lines
