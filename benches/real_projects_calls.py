"""Call generated query functions against a database with their package's schema.

Run by ``real_projects.py`` in its own process, once per package (the generated
package is imported from ``OUT_PARENT``; ``SPEC_JSON`` names it and the database
holding its schema): ``python real_projects_calls.py OUT_PARENT SPEC_JSON``. Every sync
function whose required parameters all have a simple type (or may be None) is called
with made-up values, each in a transaction that is rolled back. Prints one JSON line:
``{"tried", "ok", "data", "failed", "gaps"}`` — ``data`` counts calls PostgreSQL refused
for the made-up values (a unique or foreign key, a check, invalid input, no row) or for
a function the project's schema does not define (listed in ``gaps``), which still prove
the SQL and its adaptation run; ``failed`` lists the rest.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import inspect
import json
import pkgutil
import sys
import uuid
from types import ModuleType
from typing import Any

import psycopg

SIMPLE: dict[str, Any] = {
    "int": 0,
    "str": "x",
    "bool": False,
    "float": 0.0,
    "bytes": b"x",
    "uuid.UUID": uuid.UUID(int=1),
    "datetime.datetime": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    "datetime.date": datetime.date(2024, 1, 1),
    "datetime.time": datetime.time(0, 0),
    "datetime.timedelta": datetime.timedelta(seconds=1),
    "decimal.Decimal": decimal.Decimal(0),
}
# SQLSTATE classes about the values, not the statement: integrity, data, raised by a
# function, a lock or a timeout, privileges, feature not supported for these values
DATA_ERRORS = ("23", "22", "P0", "40", "55", "57", "42501", "2B", "25", "0A", "54", "42P10")


def made_up(annotation: Any) -> tuple[bool, Any]:
    """(usable, value) for a parameter annotated ``annotation`` (a string: PEP 563)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    options = [t.strip() for t in text.replace("typing.", "").split("|")]
    if "None" in options:
        return True, None
    if len(options) != 1:
        return False, None
    t = options[0]
    if t in SIMPLE:
        return True, SIMPLE[t]
    if t.startswith("list[") and t[5:-1] in SIMPLE:
        return True, []
    return False, None


def sync_modules(packages: list[str]) -> list[ModuleType]:
    modules = []
    for name in packages:
        pkg = importlib.import_module(name + ".queries")
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            if info.name != "aio" and not info.ispkg:
                modules.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
    return modules


def main(out_parent: str, spec_json: str) -> int:
    sys.path.insert(0, out_parent)
    spec = json.loads(spec_json)
    result: dict[str, Any] = {"tried": 0, "ok": 0, "data": 0, "failed": []}
    with psycopg.connect(spec["url"]) as conn:
        conn.execute("SET statement_timeout = '5s'")
        conn.execute("SET lock_timeout = '2s'")
        conn.commit()
        for mod in sync_modules(spec["packages"]):
            short = mod.__name__.rsplit(".", 1)[-1]
            for name, fn in sorted(vars(mod).items()):
                if name.startswith("_") or not inspect.isfunction(fn):
                    continue
                if fn.__module__ != mod.__name__:
                    continue
                params = list(inspect.signature(fn).parameters.values())
                if not params or params[0].name != "conn":
                    continue
                kwargs: dict[str, Any] = {}
                for p in params[1:]:
                    if p.default is not inspect.Parameter.empty:
                        continue
                    usable, value = made_up(p.annotation)
                    if not usable:
                        break
                    kwargs[p.name] = value
                else:
                    result["tried"] += 1
                    call(conn, fn, kwargs, f"{short}.{name}", result)
    print(json.dumps(result))
    return 0


def call(conn: psycopg.Connection[Any], fn: Any, kwargs: dict[str, Any], label: str,
         result: dict[str, Any]) -> None:  # fmt: skip
    try:
        value = fn(conn, **kwargs)
        if hasattr(value, "__next__"):  # an iterator (:copyfrom takes one; some return one)
            next(value, None)
        result["ok"] += 1
    except psycopg.Error as exc:
        state = exc.sqlstate or ""
        # raised inside a function or trigger the statement ran: about the project's
        # schema and data (a partition made at run time), not about the generated call
        inside = bool(exc.diag.context)
        if state.startswith(DATA_ERRORS) or inside:
            result["data"] += 1
        elif state == "42883" and "function" in str(exc):
            # a function the project's sqlc schema does not define (it lives in another
            # folder, or is SQLite's): the analysis stood in for it; the real one is the
            # project's business
            result["data"] += 1
            result.setdefault("gaps", []).append(f"{label}: {str(exc).splitlines()[0][:160]}")
        else:
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            result["failed"].append(f"{label}: [{state}] {first}")
    except Exception as exc:
        if type(exc).__name__ == "NoRowError":  # the made-up key matched no row
            result["data"] += 1
        else:
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            result["failed"].append(f"{label}: {type(exc).__name__}: {first}")
    finally:
        conn.rollback()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
