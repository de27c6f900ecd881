"""How phones retry: the policies the facts file describes, pure so they can be tested.

``fixed-1s`` is what the open vehicle-command client does (1 s, no jitter);
``exponential-full-jitter`` sleeps random(0, min(cap, base * 2**n));
``retry-budget`` adds a token bucket (capacity 500, a retry costs 5, a success
refunds 1, as in one major cloud SDK) so retries stop when most calls fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


class RetryPolicy:
    name = ""

    def delay_s(self, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); None: do not retry."""
        raise NotImplementedError

    def on_success(self) -> None:
        """A call succeeded (the budget refunds)."""


@dataclass
class FixedDelay(RetryPolicy):
    delay: float = 1.0
    name = "fixed-1s"

    def delay_s(self, attempt: int) -> float | None:
        return self.delay


@dataclass
class ExponentialFullJitter(RetryPolicy):
    rng: random.Random
    base: float = 0.5
    cap: float = 20.0
    name = "exponential-full-jitter"

    def delay_s(self, attempt: int) -> float | None:
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass
class TokenBucket:
    """Shared by every call of one app (one phone): retries spend, successes refund."""

    capacity: float = 500.0
    retry_cost: float = 5.0
    refund: float = 1.0
    tokens: float = 500.0

    def spend(self) -> bool:
        if self.tokens < self.retry_cost:
            return False
        self.tokens -= self.retry_cost
        return True

    def credit(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.refund)


@dataclass
class RetryBudget(RetryPolicy):
    rng: random.Random
    bucket: TokenBucket
    name = "retry-budget"

    def delay_s(self, attempt: int) -> float | None:
        if not self.bucket.spend():
            return None
        return self.rng.uniform(0, min(20.0, 0.5 * 2 ** (attempt - 1)))

    def on_success(self) -> None:
        self.bucket.credit()


def make_policy(name: str, rng: random.Random, bucket: TokenBucket | None = None) -> RetryPolicy:
    if name == "fixed-1s":
        return FixedDelay()
    if name == "exponential-full-jitter":
        return ExponentialFullJitter(rng)
    if name == "retry-budget":
        return RetryBudget(rng, bucket or TokenBucket())
    raise ValueError(f"unknown retry policy {name!r}")
