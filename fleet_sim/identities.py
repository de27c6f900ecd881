"""Who is in the fleet: the same seed gives the same cars, owners and phones.

Identity ``i`` is derived from (seed, i) alone, so any worker can build any identity
without the others and workers shard by index without coordination.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

from fleetchaos.fleet_sim.vin import make_vin

PHONES = ("iPhone 15", "iPhone 14", "iPhone 13", "Pixel 8", "Pixel 7", "Galaxy S23",
          "Galaxy S22", "OnePlus 11")


@dataclass(frozen=True)
class Identity:
    index: int
    vin: str
    display_name: str
    owner_name: str
    owner_email: str
    owner_password: str
    car_token: str
    home: tuple[float, float]
    phone_model: str
    bluetooth_enrolled: bool
    logged_in: bool
    bluetooth_on: bool
    has_keycard: bool

    @property
    def bluetooth_key_works(self) -> bool:
        return self.bluetooth_enrolled and self.logged_in and self.bluetooth_on


# The canaries' reserved identities (fleet_sim/canary.py): past any fleet index (fleets
# are capped at 1,000,000); here so that code without Locust (the run's broker
# credentials, runs/broker_access.py) finds them too.
CANARY_INDEX_BASE = 10_000_000
MAX_CANARIES = 10  # fleet.canary.count's maximum (scenarios/schema.py)


@lru_cache(maxsize=1)
def _faker() -> Faker:
    return Faker("en_US")


def rng_for(seed: int, index: int, purpose: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{index}:{purpose}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class CarIdentity:
    """What a car needs of identity ``index``: the same VIN, token and home as its owner's
    ``identity()``, without Faker (a tenth of the cost, which counts at 20,000 cars)."""

    index: int
    vin: str
    car_token: str
    home: tuple[float, float]


@lru_cache(maxsize=1)
def _us_places() -> tuple[tuple[float, float], ...]:
    """Faker's places on land in the US (its geo provider's list, read once)."""
    from faker.providers.geo import Provider

    return tuple((float(c[0]), float(c[1])) for c in Provider.land_coords if c[3] == "US")


def _home(seed: int, index: int) -> tuple[float, float]:
    digest = hashlib.sha256(f"{seed}:{index}:home".encode()).digest()
    places = _us_places()
    return places[int.from_bytes(digest[:8], "big") % len(places)]


def _car_token(seed: int, index: int) -> str:
    return hashlib.sha256(f"car:{seed}:{index}".encode()).hexdigest()[:32]


def car_identity(seed: int, index: int) -> CarIdentity:
    rng = rng_for(seed, index, "identity")
    rng.getrandbits(64)  # what identity() seeds Faker with: the VIN comes next in both
    return CarIdentity(index, make_vin(rng, index), _car_token(seed, index), _home(seed, index))


def identity(seed: int, index: int, fallbacks: dict[str, float]) -> Identity:
    rng = rng_for(seed, index, "identity")
    fake = _faker()
    fake.seed_instance(rng.getrandbits(64))
    name = fake.name()
    return Identity(
        index=index,
        vin=make_vin(rng, index),
        display_name=f"{name.split()[0]}'s car",
        owner_name=name,
        owner_email=f"owner{index}.{seed}@{fake.free_email_domain()}",
        owner_password=hashlib.sha256(f"pw:{seed}:{index}".encode()).hexdigest()[:20],
        car_token=_car_token(seed, index),
        home=_home(seed, index),
        phone_model=rng.choice(PHONES),
        bluetooth_enrolled=rng.random() < fallbacks.get("bluetooth_enrolled", 0.5),
        logged_in=rng.random() < fallbacks.get("logged_in", 0.8),
        bluetooth_on=rng.random() < fallbacks.get("bluetooth_on", 0.7),
        has_keycard=rng.random() < fallbacks.get("keycard", 0.2),
    )


def unit_draw(seed: int, index: int, purpose: str) -> float:
    """One number in [0, 1) named by (seed, index, purpose): a hash, no generator to seed
    (a car makes a few of these when it starts; seeding a Random costs ten times more)."""
    digest = hashlib.sha256(f"{seed}:{index}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / 2 ** 56


def cohort_draw(seed: int, index: int) -> float:
    """Car ``index``'s place in [0, 1): it is in a cohort of share S when the draw is below S
    (a car draws once, then compares; ``in_cohort`` is the same test)."""
    return unit_draw(seed, index, "cohort")


def in_cohort(seed: int, index: int, share: float) -> bool:
    """Whether car ``index`` is in the verbosity cohort: stable for a seed as share grows."""
    return cohort_draw(seed, index) < share


def iter_need_times(seed: int, index: int, mean_interval_s: float) -> Iterator[float]:
    """When driver ``index`` needs to get in, seconds from the start (exponential gaps)."""
    rng = rng_for(seed, index, "needs")
    t = rng.uniform(0, mean_interval_s)
    while True:
        yield round(t, 3)
        t += rng.expovariate(1.0 / mean_interval_s)


def need_draws(seed: int, index: int, need: int) -> tuple[float, int]:
    """The draws of one need: the command choice in [0, 1), and the seed of the retry
    policy's jitter.

    Named by the need's number rather than drawn from one stream per driver, so a need's
    draws do not depend on how many retries earlier needs happened to make; a hash, not a
    seeded generator (seeding one cost a phone's request a fifth of its CPU).
    """
    digest = hashlib.sha256(f"{seed}:{index}:need:{need}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / 2 ** 56, int.from_bytes(digest[8:16], "big")


def need_times(seed: int, index: int, mean_interval_s: float, horizon_s: float) -> list[float]:
    """The needs of driver ``index`` within ``horizon_s`` (same sequence as the iterator)."""
    return list(itertools.takewhile(lambda t: t < horizon_s,
                                    iter_need_times(seed, index, mean_interval_s)))


SCHEDULE_LIST_LIMIT = 1000  # drivers/cars listed in full in the journal; beyond: digests


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()[:16]


def fleet_schedule(seed: int, cars: int, drivers: int, need_interval_s: float,
                   horizon_s: float, cohort_shares: list[float],
                   fallbacks: dict[str, float], remote_start_share: float) -> dict[str, object]:
    """What the seed fixes before the run, for the journal's ``schedule`` record.

    Needs planned per driver (seconds from the run's start, within ``horizon_s``) with the
    first draw of each need (below ``remote_start_share``: remote start instead of unlock),
    the cars in each verbosity cohort, and a digest of the identities. Small fleets are
    listed in full; above SCHEDULE_LIST_LIMIT drivers or cars only digests are kept (the
    journal stays light). Identities are digested for the first SCHEDULE_LIST_LIMIT.
    """
    needs = {str(i): need_times(seed, i, need_interval_s, horizon_s) for i in range(drivers)}
    remote = {str(i): [need_draws(seed, i, n)[0] < remote_start_share
                       for n in range(len(needs[str(i)]))] for i in range(drivers)}
    cohorts = {f"{share:g}": [i for i in range(cars) if in_cohort(seed, i, share)]
               for share in sorted(set(cohort_shares))}
    people = [identity(seed, i, fallbacks) for i in range(min(max(cars, drivers),
                                                               SCHEDULE_LIST_LIMIT))]
    out: dict[str, object] = {
        "seed": seed, "cars": cars, "drivers": drivers, "horizon_s": horizon_s,
        "identities_digest": _digest([(p.vin, p.owner_email, p.car_token, p.has_keycard,
                                       p.bluetooth_key_works) for p in people]),
        "needs_total": sum(len(t) for t in needs.values()),
        "needs_digest": _digest([needs, remote]),
        "cohorts_digest": _digest(cohorts),
    }
    if drivers <= SCHEDULE_LIST_LIMIT:
        out["needs"] = needs
        out["remote_start"] = remote
    if cars <= SCHEDULE_LIST_LIMIT:
        out["cohorts"] = cohorts
    return out


class IndexPool:
    """Identity indices for one kind of user in a process that runs the whole fleet (a
    local runner): the lowest free index first, so the fleet in use is always the lowest
    indices and stays inside what was registered. A worker of a distributed run leases
    its indices from the master instead (fleet_sim/identity_lease.py), which keeps the
    same ledger (``IndexLedger``) for every worker at once."""

    def __init__(self) -> None:
        self.free: list[int] = []
        self.next = 0

    def take(self) -> int:
        if self.free:
            return heapq.heappop(self.free)
        self.next += 1
        return self.next - 1

    def give_back(self, index: int) -> None:
        heapq.heappush(self.free, index)
