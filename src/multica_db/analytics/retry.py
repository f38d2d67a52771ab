"""How long to wait before re-sending a batch, and when to give up.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads
the retries of many processes that failed at the same moment, so a recovering
backend is not hit by a synchronised wave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    ``max_tries`` counts every attempt including the first, so a batch costs at
    most ``max_tries`` requests and the worker can never loop on one batch.
    ``max_retry_after`` caps a server's ``Retry-After`` so a misbehaving proxy
    cannot park the worker for an hour.
    """

    max_tries: int = 4
    base: float = 0.5
    cap: float = 10.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        if self.base < 0 or self.cap < 0 or self.max_retry_after < 0:
            raise ValueError("backoff durations must not be negative")

    def delay(
        self,
        failed_attempts: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds to wait after ``failed_attempts`` consecutive failures (>= 1).

        A server-supplied ``Retry-After`` is a floor, not a suggestion: retrying
        earlier would only earn another 429.
        """
        exponent = min(max(0, failed_attempts - 1), 60)
        ceiling = min(self.cap, self.base * 2.0**exponent)
        jittered = (rng or random).uniform(0.0, ceiling)
        if retry_after is None:
            return jittered
        return max(jittered, min(max(retry_after, 0.0), self.max_retry_after))
