"""The corpus, three ways: the analyzer agrees with it, and the data agrees with it.

A "not null" expectation survives every adversarial dataset; a "nullable" one is
witnessed by a real NULL from PostgreSQL, so neither can be wishful thinking.
"""

from __future__ import annotations

import pytest

from multica_db_codegen.analyze.ir import QueryIR
from tests.nullability.conftest import Run
from tests.nullability.corpus import CONSERVATIVE, Case, load_corpus, load_datasets

CASES = load_corpus()
DATASETS = list(load_datasets())
IDS = [c.name for c in CASES]


def test_corpus_is_large_and_covers_every_category() -> None:
    assert len(CASES) >= 80
    categories = {c.category for c in CASES}
    assert {
        "outer-join",
        "aggregate",
        "grouping-sets",
        "subquery",
        "expression",
        "function",
        "set-operation",
        "cte",
        "view",
        "window",
        "dml",
        "srf",
        "param",
        "filter",
        "override",
    } <= categories


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_analyzer_reports_the_expected_nullability(
    case: Case, analysis: dict[str, QueryIR]
) -> None:
    q = analysis[case.name]
    assert q.error is None
    assert [c.name for c in q.columns] == [e.name for e in case.cols]
    got = {c.name: c.nullable for c in q.columns}
    for e in case.cols:
        assert got[e.name] == e.reported, f"{case.name}.{e.name}: {e.reason}"
        if e.flag != CONSERVATIVE:
            continue
        assert not e.nullable, "a conservative expectation documents a NOT NULL column"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_not_null_columns_are_never_null(case: Case, runs: dict[tuple[str, str], Run]) -> None:
    for dataset in DATASETS:
        run = runs[(case.name, dataset)]
        assert run.error is None, f"{case.name} on {dataset}: {run.error}"
        for i, e in enumerate(case.cols):
            if e.nullable or not e.checked_against_data:
                continue
            nulls = [row for row in run.rows if row[i] is None]
            assert not nulls, f"{case.name}.{e.name} is NULL on {dataset}: {e.reason}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_nullable_columns_are_witnessed(case: Case, runs: dict[tuple[str, str], Run]) -> None:
    for i, e in enumerate(case.cols):
        if not e.nullable or not e.checked_against_data:
            continue
        witnesses = [
            d for d in DATASETS if any(row[i] is None for row in runs[(case.name, d)].rows)
        ]
        assert witnesses, f"{case.name}.{e.name} never came back NULL: {e.reason}"


def test_every_dataset_returns_rows_for_most_queries(runs: dict[tuple[str, str], Run]) -> None:
    """Guard against a dataset that silently fails to load (and so proves nothing)."""
    for dataset in DATASETS:
        if dataset == "empty":
            continue
        with_rows = sum(1 for c in CASES if runs[(c.name, dataset)].rows)
        assert with_rows >= len(CASES) * 0.8, dataset
