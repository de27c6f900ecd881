"""What the seed fixes (fleet_sim/identities.fleet_schedule) and where an outcome is put on
the run's clock (fleet_sim/stats.outcome_record)."""

from __future__ import annotations

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import fleet_schedule, need_draws, need_times
from fleetchaos.fleet_sim.stats import outcome_record

FALLBACKS = FleetConfig().fallbacks


def schedule(seed: int) -> dict[str, object]:
    return fleet_schedule(seed, cars=50, drivers=30, need_interval_s=10.0, horizon_s=60.0,
                          cohort_shares=[0.8, 0.3], fallbacks=FALLBACKS,
                          remote_start_share=0.2)


def test_same_seed_same_schedule_other_seed_another():
    a, b, c = schedule(7), schedule(7), schedule(8)
    assert a == b
    for key in ("needs_digest", "cohorts_digest", "identities_digest"):
        assert a[key] != c[key], key
    needs = a["needs"]
    assert isinstance(needs, dict) and needs["3"] == need_times(7, 3, 10.0, 60.0)
    cohorts = a["cohorts"]
    assert isinstance(cohorts, dict)
    assert set(cohorts["0.3"]) <= set(cohorts["0.8"])  # a cohort grows with its share


def test_big_fleets_keep_only_digests_in_the_journal():
    big = fleet_schedule(7, cars=1500, drivers=1200, need_interval_s=30.0, horizon_s=60.0,
                         cohort_shares=[0.5], fallbacks=FALLBACKS, remote_start_share=0.2)
    assert "needs" not in big and "cohorts" not in big and big["needs_digest"]


def test_a_needs_draws_do_not_depend_on_earlier_needs():
    """Need n of driver i draws from its own stream: however many retries need n-1 made
    (each a draw), need n picks the same command and the same retry jitter."""
    assert need_draws(7, 4, 2) == need_draws(7, 4, 2)
    assert need_draws(7, 4, 2)[0] != need_draws(7, 4, 3)[0]
    assert need_draws(7, 4, 2)[1] != need_draws(7, 4, 3)[1]
    assert 0 <= need_draws(7, 4, 2)[0] < 1


def test_outcome_lands_when_it_ended_on_the_run_clock():
    wall_t0 = 1_000_000.0
    record = outcome_record({"outcome": "stranded", "waited_s": 15.0,
                             "ended_at": wall_t0 + 42.5, "driver": 3}, wall_t0, now_s=45.0)
    assert record["need_ended_s"] == 42.5 and record["t"] == 42.5  # not when it arrived
    assert record["need_started_s"] == 27.5
    assert "ended_at" not in record and record["driver"] == 3
    unstamped = outcome_record({"outcome": "app", "waited_s": 1.0}, wall_t0, now_s=10.0)
    assert unstamped["need_ended_s"] == 10.0 and unstamped["need_started_s"] == 9.0
