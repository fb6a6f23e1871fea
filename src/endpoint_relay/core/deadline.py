"""One time budget per invocation, shared by every remote call on its path.

Lambda runs one invocation per container at a time, so the object graph holds
one ``Deadline`` that each entry point re-arms from
``context.get_remaining_time_in_millis()``. Adapters read it before every
remote call: a call that cannot finish in what is left is not started, and a
call that is started gets at most what is left as its timeout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from endpoint_relay.core.errors import DeadlineExceededError

MIN_CALL_SECONDS = 0.05
"""Less than this is no time for any network call; refuse instead of starting one that must fail."""


class Deadline:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends_at = math.inf
        self._reserved = 0.0

    def arm(self, remaining_ms: int, *, reserve_ms: int = 0) -> None:
        """Start a new budget: what the invocation has left, minus ``reserve_ms`` kept to shape the answer."""
        self._ends_at = self._clock() + max(0, remaining_ms - reserve_ms) / 1000.0

    @contextmanager
    def invocation(self, remaining_ms: int, *, reserve_ms: int = 0) -> Iterator[None]:
        """Armed for one invocation, then disarmed: calls made outside an invocation (tests, tools) are not limited."""
        self.arm(remaining_ms, reserve_ms=reserve_ms)
        try:
            yield
        finally:
            self.disarm()

    def disarm(self) -> None:
        """No budget (tests and local tools that call adapters outside an invocation)."""
        self._ends_at = math.inf

    def remaining(self) -> float:
        """Seconds left; ``math.inf`` when not armed."""
        return max(0.0, self._ends_at - self._reserved - self._clock())

    @contextmanager
    def reserving(self, seconds: float) -> Iterator[None]:
        """Keep ``seconds`` back from everything started inside the block (a sweep's delivery budget).

        Set and cleared on the invoking thread; worker threads started inside only read it.
        """
        self._reserved += seconds
        try:
            yield
        finally:
            self._reserved -= seconds

    def allows(self, seconds: float) -> bool:
        return self.remaining() >= seconds

    def require(self, seconds: float, what: str) -> None:
        """Refuse to start ``what`` unless ``seconds`` (its worst case) still fit."""
        if not self.allows(max(seconds, MIN_CALL_SECONDS)):
            raise DeadlineExceededError(f"The relay ran out of time before {what}.")

    def cap(self, seconds: float, what: str) -> float:
        """A timeout for ``what``: ``seconds``, or what is left if less; refuses when nothing useful is left."""
        self.require(MIN_CALL_SECONDS, what)
        return min(seconds, self.remaining())


def unlimited() -> Deadline:
    """A deadline that is never armed: every call gets its own configured timeout."""
    return Deadline()
