"""``make bench``: every bench module, one after the other, each printing its tables.

Each module runs as its own process (``python benches/<module>.py``), so one
failing or leaking module cannot disturb the next; ``--quick`` is passed to
those that understand it. Not part of the pytest suite.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import HERE, machine

# Order: corpus + generator speed, query overhead, then the other engineers' benches.
MODULES = [
    "generator_bench.py",
    "offline_bench.py",
    "watch_bench.py",
    "query_bench.py",
    "nested_bench.py",
    "analytics_bench.py",
    "nullability/compare.py",
    "sqlc_compat.py",
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs in every module")
    ap.add_argument("only", nargs="*", help="run only these modules (e.g. query_bench.py)")
    args = ap.parse_args(argv)
    print(f"# multica-db benchmarks — {machine()}\n", flush=True)
    failed: list[str] = []
    start = time.perf_counter()
    for rel in MODULES:
        path = HERE / rel
        if not path.is_file() or (args.only and rel not in args.only):
            continue
        source = path.read_text(encoding="utf-8")
        flags = []
        if args.quick and "--quick" in source:
            flags.append("--quick")
        if args.quick and "--no-fuzz" in source:
            flags.append("--no-fuzz")
        print(f"## {rel} {' '.join(flags)}\n", flush=True)
        t = time.perf_counter()
        done = subprocess.run([sys.executable, str(path), *flags], cwd=HERE.parent, check=False)
        print(f"\n({rel}: {time.perf_counter() - t:.0f} s, exit {done.returncode})\n", flush=True)
        if done.returncode != 0:
            failed.append(rel)
    print(f"total {time.perf_counter() - start:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
