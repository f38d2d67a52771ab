"""The list the real-project acceptance run reads (``benches/real_projects.toml``) is valid:
a broken entry would stop the whole run before its first project."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

LIST = Path(__file__).resolve().parents[2] / "benches" / "real_projects.toml"


def test_every_entry_names_a_repository_a_commit_and_a_config_folder() -> None:
    projects = tomllib.loads(LIST.read_text(encoding="utf-8"))["project"]
    assert projects
    seen: set[tuple[str, str]] = set()
    for p in projects:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", p["repo"]), p
        assert re.fullmatch(r"[0-9a-f]{40}", p["commit"]), p
        assert isinstance(p["config"], str) and not p["config"].startswith("/"), p
        key = (p["repo"], p["config"])
        assert key not in seen, f"listed twice: {key}"
        seen.add(key)
