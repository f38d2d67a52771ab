"""IR ⇄ the snapshot's JSON files: deterministic text that diffs well and reads back exactly.

The IR itself is written with the IR's one JSON form (:mod:`analyze.ir_codec`, derived
from the dataclasses: a field added to the IR is in the snapshot without touching this
module). Around it, two things make a committed file stable:

* **No machine paths.** A query file's path is written relative to the project root
  and put back as the current clone's path when read.
* **No per-database numbers.** A user-defined type's OID differs in every database the
  schema is applied to; the generated code only ever asks whether a type is built in
  (``oid < 16384``), so every user type is written with :data:`USER_OID`. Two machines
  regenerating the same project write the same bytes.

The text layout is :mod:`.jsonfile`'s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from multica_db_codegen.analyze.ir import AnalysisIR, EnumIR, FileIR, TableIR
from multica_db_codegen.analyze.ir_codec import decode, encode
from multica_db_codegen.snapshot.jsonfile import VERSION, DocumentError, dumps, loads

#: PostgreSQL's first OID for objects a database creates (``FirstNormalObjectId``).
USER_OID = 16384


# --- user-type OIDs ---------------------------------------------------------------------


def normalized(doc: Any) -> Any:
    """The IR's JSON form with every user type's OID as :data:`USER_OID`, in place.

    ``oid`` is a field of ``TypeRef`` only; the walk is over the JSON (dicts and lists),
    not the dataclasses: a snapshot holds hundreds of thousands of nodes.
    """
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            oid = node.get("oid")
            if isinstance(oid, int) and oid > USER_OID:
                node["oid"] = USER_OID
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return doc


# --- one query file -----------------------------------------------------------------------


def _rel_warning(w: str, old: str, new: str) -> str:
    """A parser note starts ``file:line:col:``; its file is the query file's path."""
    return new + w[len(old) :] if w.startswith(old + ":") else w


def _with_path(fir: FileIR, old: str, new: str) -> FileIR:
    return dataclasses.replace(
        fir,
        path=new,
        queries=tuple(
            dataclasses.replace(q, file=new) if q.file == old else q for q in fir.queries
        ),
        warnings=tuple(_rel_warning(w, old, new) for w in fir.warnings),
    )


def query_document(fir: FileIR, rel: str, inputs: dict[str, Any]) -> str:
    """The snapshot file of one query file: its analysis and the inputs it came from."""
    return dumps(query_json(fir, rel, inputs))


def query_json(fir: FileIR, rel: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """:func:`query_document` before its layout (what ``json.loads`` of it gives back).

    ``rel``: the query file relative to the project root. The module name and the path
    under its queries root are left out: they depend on the other files, and are
    decided again whenever the snapshot is rendered.
    """
    fir = dataclasses.replace(_with_path(fir, fir.path, rel), module="", rel="")
    analysis = normalized(encode(fir))
    return {"version": VERSION, "query_file": rel, "inputs": inputs, "analysis": analysis}


def read_query_document(text: str, where: str, path: str) -> tuple[dict[str, Any], FileIR]:
    """(recorded inputs, the analysis with ``path`` as the query file's path)."""
    doc = loads(text, where)
    rel = doc.get("query_file")
    inputs = doc.get("inputs")
    if not isinstance(rel, str) or not isinstance(inputs, dict) or "analysis" not in doc:
        raise DocumentError(f"{where}: not a query file's snapshot")
    try:
        fir = decode(FileIR, doc["analysis"])
    except ValueError as exc:
        raise DocumentError(f"{where}: not an analysis this generator reads: {exc}") from None
    return inputs, _with_path(fir, rel, path)


# --- the schema ---------------------------------------------------------------------------


def schema_document(
    tables: tuple[TableIR, ...],
    enums: tuple[EnumIR, ...],
    warnings: tuple[str, ...],
    inputs: dict[str, Any],
) -> str:
    """The schema's snapshot: every relation and enum (``models.py`` is made of them)."""
    return dumps(schema_json(tables, enums, warnings, inputs))


def schema_json(
    tables: tuple[TableIR, ...],
    enums: tuple[EnumIR, ...],
    warnings: tuple[str, ...],
    inputs: dict[str, Any],
) -> dict[str, Any]:
    """:func:`schema_document` before its layout."""
    analysis = normalized(encode(AnalysisIR((), tables, enums, warnings=warnings)))
    del analysis["files"]
    return {"version": VERSION, "inputs": inputs, "analysis": analysis}


def read_schema_document(
    text: str, where: str
) -> tuple[dict[str, Any], tuple[TableIR, ...], tuple[EnumIR, ...], tuple[str, ...]]:
    """(recorded inputs, tables, enums, warnings about the schema)."""
    doc = loads(text, where)
    inputs, analysis = doc.get("inputs"), doc.get("analysis")
    if not isinstance(inputs, dict) or not isinstance(analysis, dict):
        raise DocumentError(f"{where}: not a schema snapshot")
    try:
        ir = decode(AnalysisIR, {**analysis, "files": []})
    except ValueError as exc:
        raise DocumentError(f"{where}: not an analysis this generator reads: {exc}") from None
    return inputs, ir.tables, ir.enums, ir.warnings
