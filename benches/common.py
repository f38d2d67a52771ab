"""What every bench module shares: timing statistics, tables, results on disk."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PG_URL = os.environ.get("MULTICA_DB_BENCH_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Row:
    """One line of a table: a label, its samples (seconds) and optional extras."""

    label: str
    samples: list[float]
    peak_mb: list[float] = field(default_factory=list)
    note: str = ""
    unit: str = "s"  # "s" for wall time per run, "us" for per-call microseconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "—"
    if unit == "us":
        return f"{value * 1e6:,.1f} µs"
    if unit == "ms":
        return f"{value * 1e3:,.1f} ms"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def table(title: str, rows: list[Row], baseline: str | None = None) -> str:
    """A Markdown table: median, min, ratio of medians to the baseline row, peak memory, runs.

    The min is shown because the machine may be shared: it is the least disturbed run.
    """
    base = next((r for r in rows if r.label == baseline), None)
    with_mem = any(r.peak_mb for r in rows)
    head = ["", "median", "min", f"× {baseline}" if base else "ratio"]
    if with_mem:
        head.append("peak RSS")
    head += ["runs", "note"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = (
            f"{r.median / base.median:.2f}×"
            if base is not None and base.median and r.samples
            else "—"
        )
        low = min(r.samples) if r.samples else float("nan")
        cells = [r.label, _fmt(r.median, r.unit), _fmt(low, r.unit), ratio]
        if with_mem:
            cells.append(f"{statistics.median(r.peak_mb):.0f} MB" if r.peak_mb else "—")
        cells += [str(len(r.samples)), r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    model = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def save(name: str, payload: dict[str, object]) -> Path:
    """Keep the raw numbers next to the printed tables (benches/results/, gitignored)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=lambda o: asdict(o)))
    return path


def timed(fn: Callable[[], object]) -> float:
    """Time to get the result; freeing it (the caller would keep it) happens after."""
    t = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t
    del result
    return elapsed
