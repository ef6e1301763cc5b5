"""Retraining with the champion/challenger gate, against a real predictor process."""

from __future__ import annotations

import pytest

from dailyml.clients.predictor import PredictorClient
from services.scheduler import runlog
from tests.scheduler.conftest import Stack, make_runner, predictor_client
from tests.support.examples import IRIS_OK
from tests.support.scheduling import FakeClock
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes


def _served_version(client: PredictorClient) -> int:
    return int(client.predict("iris", IRIS_OK)["model_version"])


def test_gate_refuses_a_challenger_below_the_margin_then_promotes_one_above_it(stack: Stack, clock: FakeClock) -> None:
    db, predictor = stack.db, stack.predictor
    client = predictor_client(predictor.url)
    champion = client.models("iris").champion
    assert champion is not None and _served_version(client) == champion

    # A margin nothing can beat: the challenger is registered but refused, with both scores.
    strict = make_runner(db, predictor.url, None, clock, datasets=["iris"], promotion_margin=10.0)
    [claim] = strict.trigger("retrain", "iris")
    run = claim.run
    assert (run.status, run.error, run.scheduled_for) == ("succeeded", None, "2030-03-04")
    counts = run.counts
    assert counts["decision"] == "refused"
    assert counts["champion_version"] == champion and counts["challenger_version"] > champion
    assert counts["primary_metric"] == "accuracy" and counts["margin"] == 10.0
    assert 0.0 <= counts["challenger_score"] <= 1.0 and 0.0 <= counts["champion_score"] <= 1.0
    assert "does not beat" in counts["reason"]
    refused = counts["challenger_version"]
    assert client.models("iris").champion == champion
    assert refused in [v.version for v in client.models("iris").versions]

    # Triggering again in the same week does nothing: the week's retraining already happened.
    [again] = strict.trigger("retrain", "iris")
    assert (again.owned, again.outcome) == (False, "already_succeeded")

    # Next week, a negative margin (a challenger may be slightly worse) promotes.
    clock.advance(days=7)
    lenient = make_runner(db, predictor.url, None, clock, datasets=["iris"], promotion_margin=-10.0)
    [claim] = lenient.trigger("retrain", "iris")
    run = claim.run
    assert (run.status, run.scheduled_for, run.counts["decision"]) == ("succeeded", "2030-03-11", "promoted")
    promoted = run.counts["challenger_version"]
    assert promoted > refused and run.counts["champion_version"] == champion
    assert client.models("iris").champion == promoted

    # The predictor serves the new champion without a restart.
    wait_until(
        lambda: _served_version(client) == promoted or NotYet(_served_version(client)),
        30,
        f"the predictor to serve v{promoted}",
        interval=0.2,
    )

    runs = [r for r in runlog.list_runs(db.engine, job="retrain")[1] if r.scheduled_for.startswith("2030-")]
    assert [(r.scheduled_for, r.counts["decision"]) for r in runs] == [
        ("2030-03-11", "promoted"),
        ("2030-03-04", "refused"),
    ]
