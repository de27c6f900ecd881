"""The in-run watch for refused credentials (scenarios/refusal.py), sample by sample: what
stops a run with exit 2, and what must not (a scenario that injects 401s itself)."""

from __future__ import annotations

from typing import Any

from fleetchaos.scenarios.refusal import RefusalWatch


def sample(phase: str, statuses: dict[str, dict[str, int]], sent: int = 0,
           acked: int = 0) -> dict[str, Any]:
    return {"type": "sample", "phase": phase,
            "by_action": {a: {"by_status": s} for a, s in statuses.items()},
            "fleet": {"telemetry_sent": sent, "telemetry_acked": acked}}


def test_ninety_percent_401_on_an_action_in_a_phase_is_refused():
    watch = RefusalWatch()
    assert watch.add(sample("a", {"unlock": {"401": 8}}), injects_refusals=False,
                     fault_on=False) is None  # 8 answers: not enough to say
    reason = watch.add(sample("a", {"unlock": {"401": 10, "200": 1}}), injects_refusals=False,
                       fault_on=False)
    assert reason == "the backend refused the fleet's credentials: 401 on unlock (18 of 19)"


def test_a_new_phase_starts_counting_again_and_a_mix_is_not_refused():
    watch = RefusalWatch()
    watch.add(sample("a", {"unlock": {"403": 9}}), injects_refusals=False, fault_on=False)
    assert watch.add(sample("b", {"unlock": {"403": 9}}), injects_refusals=False,
                     fault_on=False) is None  # 9 in phase b only
    assert watch.add(sample("b", {"unlock": {"200": 5}}), injects_refusals=False,
                     fault_on=False) is None  # 9 of 14: 64 %
    fleet_first = RefusalWatch()
    reason = fleet_first.add(sample("a", {"canary unlock": {"401": 12}, "token": {"401": 12}}),
                             injects_refusals=False, fault_on=False)
    assert reason is not None and "401 on token (12 of 12)" in reason


def test_answers_while_a_fault_injects_401_do_not_count():
    watch = RefusalWatch()
    for _ in range(5):
        assert watch.add(sample("a", {"unlock": {"401": 20}}), injects_refusals=True,
                         fault_on=True) is None


def test_telemetry_never_acknowledged_with_no_fault_on_is_refused():
    watch = RefusalWatch()
    assert watch.add(sample("a", {}, sent=40), injects_refusals=False, fault_on=False) is None
    assert watch.add(sample("a", {}, sent=400), injects_refusals=False, fault_on=True) is None
    reason = watch.add(sample("a", {}, sent=420), injects_refusals=False, fault_on=False)
    assert reason is not None and reason.startswith(
        "the backend never accepted the cars' telemetry: 0 of 60 records acknowledged")
    partition = RefusalWatch()  # acked before a partition: never "refused"
    partition.add(sample("a", {}, sent=50, acked=45), injects_refusals=False, fault_on=False)
    assert partition.add(sample("b", {}, sent=500, acked=45), injects_refusals=False,
                         fault_on=False) is None
