"""The fleet as Locust users: ``CarUser`` (a car and its telemetry link) and ``DriverUser``
(an owner with the phone app who, now and then, needs to get into the car).

Importing this module registers the fleet's Locust hooks (knobs, counters, the
driver-outcome event). Each user takes the lowest free identity index of its kind (on a
worker, leased from the master: fleet_sim/identity_lease.py), so no two users anywhere
share a car or a driver. The state users share (config,
counters, identity pools, loaded profiles) is their environment's runtime
(``runtime_of(self.environment)``, fleet_sim/runtime.py), never a module global.
"""

from __future__ import annotations

import gc
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import gevent
from locust import User, events, task
from locust.contrib.fasthttp import FastHttpSession
from locust.runners import WorkerRunner

from fleetchaos.fleet_sim import identity_lease, knobs, stats
from fleetchaos.fleet_sim.car_link import HttpBatchTransport, streaming_transport
from fleetchaos.fleet_sim.config import FleetConfig
from fleetchaos.fleet_sim.identities import (
    car_identity,
    cohort_draw,
    fleet_schedule,
    identity,
    iter_need_times,
    need_draws,
    unit_draw,
)
from fleetchaos.fleet_sim.outbox import Outbox, Pending
from fleetchaos.fleet_sim.phone_app import PhoneApp
from fleetchaos.fleet_sim.registration import register_fleet
from fleetchaos.fleet_sim.retry import RetryPolicy, TokenBucket, make_policy
from fleetchaos.fleet_sim.runtime import POOLS, runtime_of
from fleetchaos.fleet_sim.telemetry import as_resent, effective
from fleetchaos.fleet_sim.timing import GRID_S, Alarm, sleep_until, wake_at

if TYPE_CHECKING:
    from locust.env import Environment

log = logging.getLogger("fleet_sim")
RECONNECT_START_S, RECONNECT_CAP_S = 1.0, 256.0  # edge agent: 1 s doubling to 256 s, no jitter
BLUETOOTH_S, KEYCARD_S = 5.0, 10.0  # est: time a fallback takes once the driver turns to it
REMOTE_START_SHARE = 0.2  # est: share of needs that use remote start instead of unlock
HTTP_TIMEOUT_S = 10.0  # the vehicle-command client's timeout
LATE_GRACE_S = 5.0  # a driver spawned late still acts on needs planned this long before
_NO_JITTER = random.Random(0)  # what fixed-1s is handed (it draws nothing)
# Python's cyclic GC collects its youngest generation every 700 new containers and then,
# now and again, scans every object in the process; with 10,000 cars that is most of a
# million objects, and it took 2.4 of 11.6 CPU-seconds (21 %) of a run of 10,000 MQTT
# cars (bench.mqtt_capacity's row), 0.39 s with these thresholds. Cars live as long as the
# run, so rarer collections free the same garbage (reference counting frees the rest).
GC_THRESHOLDS = (50_000, 50, 100)
STOP_ACK_WAIT_S = 1.0  # a stopping car's wait for the acks of records already sent


def _fewer_collections() -> None:
    """Raise the process's GC thresholds once, when its first car starts."""
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


def identity_bounds(environment: Environment) -> dict[str, int | None]:
    """How many identities of each kind may be in use at once (the master's fixed counts):
    a worker's lease of a car, driver or canary index waits past it (identity_lease.py)."""
    from fleetchaos.fleet_sim.canary import CanaryUser

    bases = {"car": CarUser, "driver": DriverUser, "canary": CanaryUser}
    out: dict[str, int | None] = {}
    for kind, base in bases.items():
        total = sum(int(cls.fixed_count or 0) for cls in environment.user_classes or [base]
                    if issubclass(cls, base))
        out[kind] = total or None
    return out


def set_fleet_size(cars: int, drivers: int) -> None:
    """The scenario shape calls this: Locust then keeps exactly this many of each."""
    CarUser.fixed_count = cars
    DriverUser.fixed_count = drivers


def fleet_user_classes(environment: Environment) -> list[type[User]]:
    """The classes the load shape hands Locust: the canary first, then cars and drivers.

    Every class has a fixed count, so the shape's user total is their sum.
    """
    from fleetchaos.fleet_sim.canary import CanaryUser

    CanaryUser.fixed_count = int(knobs.current(environment).canary.get("count", 1))
    return [CanaryUser, CarUser, DriverUser]


def _spec(step: Any) -> dict[str, Any]:
    spec = step.spec
    return dict(spec.to_json() if hasattr(spec, "to_json") else spec)


def schedule_record(scenario: Any, config: FleetConfig) -> dict[str, Any]:
    """The journal's ``schedule`` record: what the seed fixes (identities, needs, cohorts),
    and the canary's settings as this run applied them (the summary reads them)."""
    timeline = list(scenario.timeline)
    sizes = [_spec(s) for s in timeline if s.action == "users"]
    cars = max([config.cars] + [int(s.get("cars", 0)) for s in sizes])
    drivers = max([config.drivers] + [int(s.get("drivers", 0)) for s in sizes])
    shares = [float(_spec(s).get("cohort", 1.0)) for s in timeline if s.action == "verbosity"]
    plan = fleet_schedule(config.seed, cars, drivers, config.need_interval_s,
                          float(scenario.duration_s), shares, config.fallbacks,
                          REMOTE_START_SHARE)
    return {**plan, "canary": dict(config.canary)}


def run_start(config: FleetConfig, fallback: float) -> float:
    """The run's start on this process's monotonic clock (``fallback`` in standalone mode)."""
    if config.started_at <= 0:
        return fallback
    return time.monotonic() - (time.time() - config.started_at)


def _session(environment: Environment, base_url: str, user: User,
             concurrency: int = 1) -> FastHttpSession:
    """An HTTP client of its own, with ``concurrency`` connections (a car posting
    ``max_in_flight`` batches at once needs as many; a phone has one)."""
    return FastHttpSession(base_url=base_url, user=user,
                           request_event=environment.events.request,
                           connection_timeout=HTTP_TIMEOUT_S, network_timeout=HTTP_TIMEOUT_S,
                           max_retries=0, concurrency=concurrency)


class CarUser(User):
    """A connected car: streams telemetry, resends what is not acked, obeys commands, sleeps.

    Open model: records come due on the car's clock at its interval (divided by the
    verbosity on a cohort car) whatever the backend does, and wait in the car's outbox
    (fleet_sim/outbox.py) until the link takes them, in batches of up to ``max_batch``
    with at most ``max_in_flight`` requests (HTTP) or unacknowledged records (WebSocket,
    MQTT) in flight. One loop per car wakes when something is due, counts in what came
    due since it last looked, and sends what the window allows; acks that free the window
    send the backlog at once; an HTTP car has a greenlet per request in flight, only while
    there is something to send.
    """

    fixed_count = 1
    weight = 1

    def on_start(self) -> None:
        _fewer_collections()
        self.runtime = runtime_of(self.environment)
        config = self.runtime.config
        self.index = self.runtime.pools["car"].take()
        self.ident = car_identity(config.seed, self.index)
        self.profile = self.runtime.profile_for(config)
        self.contract = self.profile.contract
        self.asleep = unit_draw(config.seed, self.index, "asleep") \
            < float(config.telemetry.get("asleep_share", 0.1))
        self.outbox = Outbox(self.contract, self.runtime.counters,
                             phase=unit_draw(config.seed, self.index, "phase"))
        self.unacked = self.outbox.unacked
        self.cohort_draw = cohort_draw(config.seed, self.index)
        self.rate_of: tuple[FleetConfig | None, tuple[float, int, bool]] = (None, (1.0, 1, False))
        self.transport = self._transport(config)
        self.http = self.contract.transport == "http"
        self.senders: set[gevent.Greenlet[..., None]] | None = set() if self.http else None
        self.pumping = False
        self.alarm = Alarm()
        self.runtime.sleepers.add(self.alarm)
        self.runtime.counters.add("cars_total")
        self.online_counted = False

    def _transport(self, config: FleetConfig) -> Any:
        variables = {"vin": self.ident.vin, "car_token": self.ident.car_token}
        if self.profile.telemetry["transport"] == "http":
            session = _session(self.environment, config.telemetry_url, self,
                               self.profile.contract.max_in_flight)
            return HttpBatchTransport(session, self.profile, variables, self.runtime.counters)
        return streaming_transport(config.telemetry_url, self.profile, variables,
                                   self.environment.events.request.fire, self._on_message,
                                   self.runtime.counters)

    def on_stop(self) -> None:
        self.runtime.sleepers.discard(self.alarm)
        for sender in list(self.senders or ()):
            sender.kill(block=False)
        self._await_last_acks()
        self.transport.close()
        self.outbox.close(time.monotonic())
        self._count_connected(False)
        self.runtime.pools["car"].give_back(self.index)

    def _await_last_acks(self) -> None:
        """A car switched off waits a moment (at most STOP_ACK_WAIT_S) for the acks of the
        records already on its streaming link, so a record the backend stored and acked as
        the run ended counts as acked rather than 'stored, never acked' (seen: each car's
        last MQTT record, its PUBACK on the wire as the socket was dropped). HTTP batches
        in flight died with their senders: nothing to wait for."""
        if self.profile.telemetry["transport"] == "http":
            return
        deadline = time.monotonic() + STOP_ACK_WAIT_S
        while self.unacked.items and self.transport.connected and time.monotonic() < deadline:
            gevent.sleep(0.05)

    def _count_connected(self, up: bool) -> None:
        if up != self.online_counted:
            self.runtime.counters.add("cars_connected", 1 if up else -1)
            self.online_counted = up

    def _rate(self, config: FleetConfig) -> tuple[float, int, bool]:
        """(interval, field count, in the flooding cohort) under this config (cached)."""
        seen, rate = self.rate_of
        if seen is config:
            return rate
        tel = config.telemetry
        cohort = config.verbosity > 1 and self.cohort_draw < config.cohort
        interval, nfields = effective(float(tel["interval_s"]), int(tel["fields"]),
                                      config.verbosity, cohort,
                                      float(tel["min_interval_s"]), int(tel["max_fields"]))
        rate = (interval, nfields, cohort)
        self.rate_of = (config, rate)
        return rate

    def _on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "ack":
            self._acked(msg.get("seq", -1), report=True)
            if self.outbox.room() and not self.pumping:
                self._pump(time.monotonic())  # the window freed up: send the backlog now
        elif kind == "command":
            self.runtime.counters.add("commands_received")
            if msg.get("command") == "wake_up":
                gevent.spawn_later(float(self.runtime.config.telemetry.get("wake_delay_s", 3.0)),
                                   self._wake)
                return
            if self.asleep:
                return  # an asleep car does not act (the backend answers 408 before this)
            self.transport.send_control({"type": "command_ack", "id": msg.get("id"),
                                         "result": True, "reason": ""})
            self.runtime.counters.add("commands_acked")

    def _acked(self, seq: Any, report: bool) -> None:
        item = self.outbox.ack(seq) if isinstance(seq, int) else None
        if item is not None and report:
            # from when the record was due (its send instant on the car's wake grid), not
            # from when it left: time spent waiting in a full window counts
            self.environment.events.request.fire(
                request_type=self.transport.kind, name="telemetry",
                response_time=max(0.0, time.monotonic() - wake_at(item.due_t)) * 1000,
                response_length=0, exception=None)

    def _wake(self) -> None:
        self.asleep = False
        self.alarm.ring()
        self.transport.send_control({"type": "state", "state": "online"})

    @task
    def drive(self) -> None:
        backoff = RECONNECT_START_S
        retry_at = 0.0
        while True:
            now = time.monotonic()
            config = self.runtime.config
            tel = config.telemetry
            if self.asleep:
                self.outbox.pause(now)
            else:
                interval, nfields, cohort = self._rate(config)
                self.outbox.advance(now, interval, nfields, cohort, float(tel["interval_s"]))
            if not self.transport.connected and now >= retry_at:
                self._count_connected(False)
                if self.transport.connect():
                    backoff = RECONNECT_START_S
                    self._count_connected(True)
                    self.transport.send_control({"type": "state",
                                                 "state": "asleep" if self.asleep else "online"})
                else:
                    retry_at = time.monotonic() + backoff
                    backoff = min(RECONNECT_CAP_S, backoff * 2)
                continue  # a connect takes time: count in what came due meanwhile
            timeout = float(tel["ack_timeout_s"])
            if self.transport.connected:
                self._pump(now)
                wake = self.outbox.next_due
                if self.senders is None or len(self.senders) < self.contract.max_in_flight:
                    wake = min(wake, self.outbox.unacked.next_resend_at(timeout))
                # (an HTTP car with every request in flight resends when one comes back)
            else:  # records keep coming due while the link is down; they are counted on waking
                wake = min(retry_at, max(self.outbox.next_due, now + 1.0))
            if self.asleep:
                wake = now + 1.0
            self.alarm.sleep_until(max(wake, now + GRID_S / 2))  # always yields

    def _pump(self, now: float) -> None:
        """Send what the window lets out: resends whose wait is over, then waiting records."""
        timeout = float(self.runtime.config.telemetry["ack_timeout_s"])
        if self.senders is not None:  # HTTP: a greenlet per request in flight
            while len(self.senders) < self.contract.max_in_flight:
                resends, fresh = self.outbox.take(now, timeout)
                if not resends and not fresh:
                    return
                self.senders.add(gevent.spawn(self._post, resends, fresh))
            return
        if self.pumping:
            return
        self.pumping = True
        try:
            while True:
                resends, fresh = self.outbox.take(now, timeout)
                if not resends and not fresh:
                    return
                acked = self.transport.send(self._records(resends, fresh, now, timeout))
                if acked is None:  # the link is down: nothing left
                    self.outbox.unsend(resends, fresh)
                    return
                for seq in acked:
                    self._acked(seq, report=True)
                now = time.monotonic()
        finally:
            self.pumping = False

    def _post(self, resends: list[Pending], fresh: list[Pending]) -> None:
        """One HTTP request in flight; then the next batch, while there is one."""
        me = gevent.getcurrent()
        try:
            while resends or fresh:
                now = time.monotonic()
                timeout = float(self.runtime.config.telemetry["ack_timeout_s"])
                records = self._records(resends, fresh, now, timeout)
                intended = wake_at(min(p.due_t for p in (*resends, *fresh)))
                for seq in self.transport.send(records, intended) or []:
                    self._acked(seq, report=False)  # the request's own event times the batch
                if not self.transport.connected:
                    return
                resends, fresh = self.outbox.take(time.monotonic(), timeout)
        finally:
            if self.senders is not None:
                self.senders.discard(me)

    def _records(self, resends: list[Pending], fresh: list[Pending], now: float,
                 timeout: float) -> list[tuple[int, str]]:
        """``(seq, JSON text)`` to send: resends as first sent (flagged), fresh ones built now."""
        fire = self.environment.events.request.fire
        for item in resends:
            item.record = as_resent(item.record)
            fire(request_type=self.transport.kind, name="telemetry",
                 response_time=self.unacked.wait_s(timeout, item.resends - 1) * 1000,
                 response_length=0, exception=TimeoutError("no ack: resent"))
        wall = time.time() - now
        make, home = self.runtime.records.record, self.ident.home
        for item in fresh:
            item.record = make(item.seq, wall + item.due_t, item.nfields, home)
        return [(item.seq, item.record) for item in (*resends, *fresh)]


class DriverUser(User):
    """An owner who needs to get in at seeded moments: the app first, then the fallbacks."""

    fixed_count = 1
    weight = 1

    def on_start(self) -> None:
        self.runtime = runtime_of(self.environment)
        config = self.runtime.config
        self.index = self.runtime.pools["driver"].take()
        self.ident = identity(config.seed, self.index, config.fallbacks)
        self.profile = self.runtime.profile_for(config)
        self.session = _session(self.environment, config.api_url, self)
        self.app = PhoneApp(self.session, self.profile, self.ident, self.runtime.counters)
        self.bucket = TokenBucket()
        self.spawned = time.monotonic()
        self.started = run_start(config, self.spawned)
        self.needs = iter_need_times(config.seed, self.index, config.need_interval_s)

    def on_stop(self) -> None:
        self.runtime.pools["driver"].give_back(self.index)

    @task
    def live(self) -> None:
        """Needs at planned offsets from the run's start (the seed's schedule, not spawn time)."""
        for n, at in enumerate(self.needs):
            due = self.started + at
            if due < self.spawned - LATE_GRACE_S:
                continue  # planned long before this user existed (a respawn): not replayed
            sleep_until(due)
            self.need_to_get_in(n, at)

    def need_to_get_in(self, need: int = 0, planned_s: float | None = None) -> None:
        config = self.runtime.config
        self.runtime.counters.add("drivers_needing")
        choice, jitter_seed = need_draws(config.seed, self.index, need)
        command = "unlock"
        if choice < REMOTE_START_SHARE and "remote_start" in self.profile.actions:
            command = "remote_start"
        jitter = _NO_JITTER if config.retry_policy == "fixed-1s" else random.Random(jitter_seed)
        policy: RetryPolicy = make_policy(config.retry_policy, jitter, self.bucket)
        start = time.monotonic()
        deadline = start + config.patience_s
        attempts, ok = 0, False
        while True:
            attempts += 1
            status = self.app.open_and_command(command, deadline)
            if self.app.succeeded(command, status):
                policy.on_success()
                ok = True
                break
            delay = policy.delay_s(attempts)
            if delay is None or not self.app.worth_retrying(status) \
                    or time.monotonic() + delay >= deadline:
                break
            gevent.sleep(delay)
        elapsed = time.monotonic() - start
        if ok:
            outcome, t = "app", elapsed
        elif self.ident.bluetooth_key_works:
            outcome, t = "bluetooth", max(elapsed, config.patience_s) + BLUETOOTH_S
        elif self.ident.has_keycard:
            outcome, t = "keycard", max(elapsed, config.patience_s) + KEYCARD_S
        else:
            outcome, t = "stranded", None
        stats.record_outcome(self.environment, outcome=outcome,
                             time_to_access_s=None if t is None else round(t, 3),
                             attempts=attempts, policy=config.retry_policy, vin=self.ident.vin,
                             waited_s=round(elapsed, 3), ended_at=round(time.time(), 3),
                             driver=self.index, need=need, need_planned_s=planned_s)


@events.init.add_listener
def _install(environment: Environment, **_: Any) -> None:
    stats.install(environment)
    knobs.install(environment)
    identity_lease.install(environment, POOLS, lambda: identity_bounds(environment))
    standalone = knobs.initial_from_env()
    if standalone is not None:
        knobs.reset(environment, standalone)
        set_fleet_size(standalone.cars, standalone.drivers)
        fleet_user_classes(environment)  # the canary's fixed count too (0 would make it a weighted class)


@events.test_start.add_listener
def _standalone_registration(environment: Environment, **_: Any) -> None:
    """Without the scenario engine (standalone mode) the fleet registers itself."""
    if knobs.initial_from_env() is None or isinstance(environment.runner, WorkerRunner):
        return
    from fleetchaos.fleet_sim.canary import register_canary

    register_fleet(knobs.current(environment))
    register_canary(knobs.current(environment))


__all__ = ["CarUser", "DriverUser", "fleet_user_classes", "schedule_record", "set_fleet_size"]
