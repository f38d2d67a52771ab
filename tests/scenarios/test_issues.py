"""Issue numbering under concurrency and the executed-issues queries."""

from __future__ import annotations

import datetime

from examples.multica_service import create_issue
from multica_db.analytics import NoopClient
from multica_db.models import Issue, IssueStatus
from multica_db.queries import issues
from tests.scenarios.helpers import REPEATS, WAYS, Conn, make_workspace, race

NOOP = NoopClient()


def test_concurrent_issue_creation_numbers_densely(pool: list[Conn], db: Conn) -> None:
    ws, owner = make_workspace(db)
    for rep in range(REPEATS):

        def create(c: Conn, i: int) -> Issue:
            return create_issue(c, NOOP, workspace_id=ws, title=f"#{i}", creator_id=owner)

        race(pool, create)
        listed = issues.list_issues_by_workspace(db, workspace_id=ws, max_rows=1000)
        assert sorted(i.number for i in listed) == list(range(1, (rep + 1) * WAYS + 1))


def test_status_filter_and_executed_issue_queries(db: Conn) -> None:
    ws, _ = make_workspace(db)
    made = [create_issue(db, NOOP, workspace_id=ws, title=f"t{i}") for i in range(3)]
    done = issues.update_issue_status(db, id=made[0].id, status=IssueStatus.DONE)
    assert done is not None
    by_status = issues.list_issues_by_workspace(
        db, workspace_id=ws, status=IssueStatus.DONE, max_rows=10
    )
    assert [i.id for i in by_status] == [made[0].id]
    newest_first = issues.list_issues_by_workspace(db, workspace_id=ws, max_rows=2)
    assert [i.number for i in newest_first] == [3, 2]

    before = db.execute("SELECT now()").fetchone()
    assert before is not None
    since: datetime.datetime = before[0]
    assert issues.mark_issue_first_executed(db, id=made[1].id) == 1
    assert issues.mark_issue_first_executed(db, id=made[1].id) == 0
    assert [i.id for i in issues.list_executed_issues(db, workspace_id=ws, max_rows=10)] == [
        made[1].id
    ]
    assert issues.count_executed_issues_in_workspace(db, workspace_id=ws) == 1
    assert issues.count_executed_issues_in_workspace(db, workspace_id=ws, since=since) == 1
    later = since + datetime.timedelta(hours=1)
    assert issues.count_executed_issues_in_workspace(db, workspace_id=ws, since=later) == 0
    # The executed-issues predicate is the one the partial index was built for.
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            str(r[0])
            for r in db.execute(
                "EXPLAIN SELECT * FROM issue WHERE workspace_id = %s"
                " AND first_executed_at IS NOT NULL ORDER BY first_executed_at DESC",
                (ws,),
            ).fetchall()
        )
    assert "issue_workspace_first_executed_idx" in plan
