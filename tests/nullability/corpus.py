"""Load the nullability corpus (corpus.yaml) and its datasets (datasets.yaml).

Shared by the tests and by benches/nullability/compare.py, so both judge the
analyzers against the same expectations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
SCHEMA = HERE / "schema.sql"
CORPUS = HERE / "corpus.yaml"
DATASETS = HERE / "datasets.yaml"

#: The analyzer must report what the suffix forces; the data is not checked.
FORCED = "forced"
#: True nullability is "not null" but the analyzer knowingly says "nullable".
CONSERVATIVE = "conservative"


@dataclass(frozen=True, slots=True)
class Expect:
    name: str
    nullable: bool  # the truth (for forced columns: what the suffix forces)
    reason: str
    flag: str | None = None

    @property
    def reported(self) -> bool:
        """What our analyzer is expected to report."""
        return True if self.flag == CONSERVATIVE else self.nullable

    @property
    def checked_against_data(self) -> bool:
        return self.flag != FORCED


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    category: str
    sql: str
    params: tuple[Any, ...]
    cols: tuple[Expect, ...]


def _expect(raw: list[Any]) -> Expect:
    name, verdict, reason, *rest = raw
    if verdict not in ("nullable", "notnull"):
        raise ValueError(f"{name}: verdict must be nullable or notnull, not {verdict!r}")
    flag = rest[0] if rest else None
    if flag not in (None, FORCED, CONSERVATIVE):
        raise ValueError(f"{name}: unknown flag {flag!r}")
    return Expect(str(name), verdict == "nullable", str(reason), flag)


def load_corpus() -> list[Case]:
    raw = yaml.safe_load(CORPUS.read_text())
    cases = [
        Case(
            name=str(c["name"]),
            category=str(c["category"]),
            sql=str(c["sql"]).strip().rstrip(";"),
            params=tuple(c.get("params", ())),
            cols=tuple(_expect(x) for x in c["cols"]),
        )
        for c in raw
    ]
    names = [c.name for c in cases]
    if len(set(names)) != len(names):
        raise ValueError("duplicate query names in the corpus")
    return cases


def load_datasets() -> dict[str, str]:
    return {str(k): str(v or "") for k, v in yaml.safe_load(DATASETS.read_text()).items()}


def query_file(cases: list[Case]) -> str:
    """The corpus as one sqlc-style annotated query file."""
    return "".join(f"-- name: {c.name} :many\n{c.sql};\n\n" for c in cases)
