"""The run log guards exactly-once in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from services.scheduler import runlog
from tests.support.databases import Database

NOW = datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC)
STALE = timedelta(minutes=30)


def _claim(db: Database, *, now: datetime = NOW, trigger: str = "cron", max_attempts: int | None = 3) -> runlog.Claim:
    return runlog.claim(
        db.engine, "daily", "iris", "2026-03-02", trigger=trigger, now=now, stale_after=STALE, max_attempts=max_attempts
    )


def test_concurrent_claims_of_one_key_let_exactly_one_caller_run(db: Database) -> None:
    barrier = threading.Barrier(8)
    claims: list[runlog.Claim] = []
    lock = threading.Lock()

    def contend() -> None:
        barrier.wait()
        claim = _claim(db)
        with lock:
            claims.append(claim)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.outcome for c in claims) == ["in_progress"] * 7 + ["started"]
    total, rows = runlog.list_runs(db.engine, job="daily", dataset="iris")
    assert total == 1 and rows[0].attempts == 1 and rows[0].status == "running"


def test_failed_run_is_retried_with_attempts_counted_and_succeeded_run_is_never_redone(db: Database) -> None:
    first = _claim(db)
    assert runlog.finish(db.engine, first.run, status="failed", counts={"generated": 1}, error="boom", now=NOW)
    retry = _claim(db, trigger="retry")
    assert (retry.owned, retry.outcome, retry.run.attempts, retry.run.error) == (True, "retried", 2, None)
    assert retry.run.counts == {"generated": 1}  # progress of the failed attempt is kept
    assert runlog.finish(db.engine, retry.run, status="succeeded", counts={"generated": 1}, error=None, now=NOW)
    for trigger in ("cron", "retry", "manual"):
        again = _claim(db, trigger=trigger, max_attempts=None)
        assert (again.owned, again.outcome, again.run.attempts) == (False, "already_succeeded", 2)


def test_a_stale_running_run_is_taken_over_and_its_old_owner_cannot_close_it(db: Database) -> None:
    dead = _claim(db)
    assert _claim(db, now=NOW + STALE / 2).outcome == "in_progress"
    taken = _claim(db, now=NOW + STALE * 2, trigger="retry")
    assert (taken.owned, taken.run.attempts) == (True, 2)
    # The process that died comes back to life: its stale claim must not overwrite the new attempt.
    assert not runlog.finish(db.engine, dead.run, status="failed", counts={}, error="late", now=NOW)
    assert runlog.finish(db.engine, taken.run, status="succeeded", counts={}, error=None, now=NOW)
    assert runlog.get_run(db.engine, "daily", "iris", "2026-03-02").status == "succeeded"  # type: ignore[union-attr]


def test_automatic_retries_stop_after_max_attempts_but_a_manual_trigger_still_runs(db: Database) -> None:
    for attempt in range(1, 4):
        claim = _claim(db)
        assert claim.owned and claim.run.attempts == attempt
        runlog.finish(db.engine, claim.run, status="failed", counts={}, error="down", now=NOW)
    assert _claim(db).outcome == "attempts_exhausted"
    manual = _claim(db, trigger="manual", max_attempts=None)
    assert (manual.owned, manual.run.attempts, manual.run.trigger) == (True, 4, "manual")


def test_list_runs_filters_and_pages_newest_first(db: Database) -> None:
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        for dataset in ("iris", "wine"):
            c = runlog.claim(
                db.engine, "daily", dataset, day, trigger="cron", now=NOW, stale_after=STALE, max_attempts=3
            )
            runlog.finish(
                db.engine,
                c.run,
                status="failed" if day == "2026-03-02" else "succeeded",
                counts={},
                error=None,
                now=NOW,
            )
    total, rows = runlog.list_runs(db.engine, dataset="wine", limit=2)
    assert total == 3 and [r.scheduled_for for r in rows] == ["2026-03-03", "2026-03-02"]
    total, rows = runlog.list_runs(db.engine, status="failed")
    assert total == 2 and {r.dataset for r in rows} == {"iris", "wine"}
    assert runlog.list_runs(db.engine, job="retrain") == (0, [])
    assert [r.scheduled_for for r in runlog.list_runs(db.engine, dataset="iris", offset=2)[1]] == ["2026-03-01"]
