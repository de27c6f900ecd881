"""Refused credentials during a run (issue 22): a set-up failure, not a breach.

With a wrong password, a bad static token or a 403 on unlock every phone request was
refused, the run went on for its full length and exited 1 ("4 SLO(s) breached"), and no
line named 401 or 403. The run's set-up probes the backend first (fleet_sim/probe.py);
this watches the samples as they are written, so credentials that stop working mid-run
(a token that expires, a backend that starts refusing) stop the run too, within seconds,
with exit 2 and one line: "the backend refused the fleet's credentials: 401 on unlock
(412 of 412)".

Refused: in the current phase, an action's answers are at least ``SHARE`` 401 or 403,
out of at least ``MIN_ANSWERS``; or the cars' telemetry was never acknowledged while
``MIN_RECORDS`` records went out with no fault on. Answers given while a fault that
injects 401 or 403 itself was on do not count (a scenario may test token refresh).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REFUSED = ("401", "403")
SHARE = 0.9
MIN_ANSWERS = 10
MIN_RECORDS = 50


@dataclass
class RefusalWatch:
    """Per-phase answers of each action, and the run's telemetry, sample by sample."""

    phase: str | None = None
    answers: dict[str, dict[str, int]] = field(default_factory=dict)  # action -> status -> n
    sent_clean: int = 0  # telemetry records sent in samples with no fault on
    acked: int = 0
    _last_fleet: dict[str, Any] = field(default_factory=dict)

    def add(self, sample: dict[str, Any], *, injects_refusals: bool, fault_on: bool
            ) -> str | None:
        """Take one journal sample; the one-line reason when the run must stop."""
        if sample.get("phase") != self.phase:
            self.phase, self.answers = sample.get("phase"), {}
        if not injects_refusals:
            for action, entry in (sample.get("by_action") or {}).items():
                statuses = entry.get("by_status") if isinstance(entry, dict) else None
                if isinstance(statuses, dict):
                    into = self.answers.setdefault(str(action), {})
                    for status, n in statuses.items():
                        if isinstance(n, int):
                            into[str(status)] = into.get(str(status), 0) + n
        raw = sample.get("fleet")
        fleet: dict[str, Any] = raw if isinstance(raw, dict) else {}
        sent = int(fleet.get("telemetry_sent") or 0) - int(self._last_fleet.get("telemetry_sent") or 0)
        self.acked = int(fleet.get("telemetry_acked") or 0)
        if not fault_on:
            self.sent_clean += max(0, sent)
        self._last_fleet = dict(fleet)
        return self.reason()

    def reason(self) -> str | None:
        fleet_first = sorted(self.answers.items(), key=lambda kv: (kv[0].startswith("canary "),
                                                                   kv[0]))
        for action, statuses in fleet_first:
            total = sum(statuses.values())
            refused = sum(statuses.get(s, 0) for s in REFUSED)
            if total >= MIN_ANSWERS and refused >= SHARE * total:
                status = max(REFUSED, key=lambda s: statuses.get(s, 0))
                return (f"the backend refused the fleet's credentials: {status} on {action} "
                        f"({refused} of {total})")
        if self.acked == 0 and self.sent_clean >= MIN_RECORDS:
            return (f"the backend never accepted the cars' telemetry: 0 of {self.sent_clean} "
                    "records acknowledged (check the profile's telemetry credentials, accept "
                    "and ack settings: fleetchaos probe says more)")
        return None
