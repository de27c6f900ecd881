"""The fleet's pure parts: identities, VINs, shards, retry policies, telemetry, config."""

from __future__ import annotations

import random

import pytest

from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import IndexPool, identity, in_cohort, need_times
from fleetchaos.fleet_sim.retry import TokenBucket, make_policy
from fleetchaos.fleet_sim.telemetry import effective, field_names, make_record
from fleetchaos.fleet_sim.timing import GRID_S, wake_at
from fleetchaos.fleet_sim.vin import check_digit, is_valid, make_vin


def test_known_vin_check_digits():
    assert is_valid("1M8GDM9AXKP042788")  # the textbook example, check digit X
    assert check_digit("11111111111111111") == "1"
    assert not is_valid("1M8GDM9A1KP042788")
    assert not is_valid("1M8GDM9AXKP04278O")  # O is not a VIN character


def test_generated_vins_are_valid_and_unique():
    rng = random.Random(3)
    vins = [make_vin(rng, i) for i in range(5000)]
    assert all(is_valid(v) for v in vins)
    assert len(set(vins)) == len(vins)


def test_same_seed_same_fleet_other_seed_other_fleet():
    fb = FleetConfig().fallbacks
    a = [identity(7, i, fb) for i in range(50)]
    b = [identity(7, i, fb) for i in range(50)]
    c = [identity(8, i, fb) for i in range(50)]
    assert a == b
    assert [x.vin for x in a] != [x.vin for x in c]
    assert len({x.owner_email for x in a}) == 50
    assert all(is_valid(x.vin) for x in a)


def test_fallback_shares_follow_the_profile():
    everyone = {"bluetooth_enrolled": 1.0, "logged_in": 1.0, "bluetooth_on": 1.0, "keycard": 0.0}
    nobody = {"bluetooth_enrolled": 0.0, "logged_in": 1.0, "bluetooth_on": 1.0, "keycard": 0.0}
    assert all(identity(1, i, everyone).bluetooth_key_works for i in range(100))
    assert not any(identity(1, i, nobody).bluetooth_key_works for i in range(100))
    half = sum(identity(1, i, {"keycard": 0.5}).has_keycard for i in range(2000))
    assert 850 <= half <= 1150


def test_driver_needs_are_repeatable():
    assert need_times(5, 3, 30.0, 600.0) == need_times(5, 3, 30.0, 600.0)
    assert need_times(5, 3, 30.0, 600.0) != need_times(5, 4, 30.0, 600.0)
    times = need_times(5, 3, 30.0, 6000.0)
    assert times == sorted(times)
    assert 120 <= len(times) <= 280  # about one every 30 s


def test_a_local_pool_hands_out_the_lowest_free_index_and_reuses_what_is_given_back():
    pool = IndexPool()
    taken = [pool.take() for _ in range(10)]
    assert taken == list(range(10))
    pool.give_back(7)
    pool.give_back(3)
    assert [pool.take(), pool.take(), pool.take()] == [3, 7, 10]


def test_cohort_is_stable_as_it_grows():
    small = {i for i in range(1000) if in_cohort(1, i, 0.2)}
    large = {i for i in range(1000) if in_cohort(1, i, 0.6)}
    assert small <= large
    assert 150 <= len(small) <= 250


def test_retry_policies():
    fixed = make_policy("fixed-1s", random.Random(1))
    assert [fixed.delay_s(n) for n in (1, 5, 50)] == [1.0, 1.0, 1.0]
    jitter = make_policy("exponential-full-jitter", random.Random(1))
    delays = [jitter.delay_s(n) for n in range(1, 12)]
    assert all(d is not None and 0 <= d <= min(20.0, 0.5 * 2 ** (n - 1))
               for n, d in zip(range(1, 12), delays, strict=True))
    bucket = TokenBucket(capacity=20, retry_cost=5, refund=1, tokens=20)
    budget = make_policy("retry-budget", random.Random(1), bucket)
    allowed = [budget.delay_s(n) is not None for n in range(1, 7)]
    assert allowed == [True, True, True, True, False, False]
    for _ in range(5):
        budget.on_success()
    assert budget.delay_s(1) is not None
    with pytest.raises(ValueError):
        make_policy("hope", random.Random(1))


def test_verbosity_hits_only_the_cohort():
    assert effective(10.0, 20, 60.0, False, 0.05, 100) == (10.0, 20)
    interval, fields = effective(10.0, 20, 60.0, True, 0.05, 100)
    assert interval == pytest.approx(10 / 60) and fields == 100
    record = make_record(1, field_names(100), random.Random(1), (40.0, -74.0))
    assert len(record["fields"]) == 100 and record["seq"] == 1


def test_config_rejects_unknown_and_bad_values():
    with pytest.raises(ValueError, match="unknown fleet setting 'carz'"):
        FleetConfig().merged({"carz": 3})
    with pytest.raises(ValueError, match="retry_policy"):
        FleetConfig().merged({"retry_policy": "forever"})
    with pytest.raises(ValueError, match="cohort"):
        FleetConfig().merged({"cohort": 2})
    merged = FleetConfig().merged({"telemetry": {"interval_s": 1.0}})
    assert merged.telemetry["interval_s"] == 1.0 and merged.telemetry["fields"] == 20


def test_wake_ups_share_grid_instants_and_never_come_early():
    rng = random.Random(5)
    deadlines = [1000 + rng.uniform(0, 10) for _ in range(2000)]
    wakes = [wake_at(d) for d in deadlines]
    assert all(0 <= w - d < GRID_S + 1e-9 for w, d in zip(wakes, deadlines, strict=True))
    # 2,000 random moments over 10 s wake at no more than one instant per grid step
    assert len(set(wakes)) <= 10 / GRID_S + 1
    assert wake_at(1000.0) == pytest.approx(1000.0)  # a deadline on the grid is not pushed
