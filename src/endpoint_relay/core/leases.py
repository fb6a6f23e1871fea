"""Short-lived claims on a name: whoever claims it first may act, until the claim expires.

The Slack abuse controls rest on these: one ``check`` per workspace per cooldown,
and one use of each signed Slack request. A claim ends by time, so nothing has to
clean up after a crashed invocation.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import ClassVar, Protocol

from endpoint_relay.core.errors import RelayError


class LeaseStoreError(RelayError):
    """The shared lease store failed: the guarded action is refused rather than left unguarded."""

    status: ClassVar[int] = 503
    error_type: ClassVar[str] = "service_unavailable_error"
    code: ClassVar[str | None] = "relay_state_unavailable"


class Leases(Protocol):
    def claim(self, key: str, until: float) -> str | None:
        """A token if ``key`` was free (never claimed, or expired) and is now held until ``until``; else None.

        Raises LeaseStoreError when the store cannot say.
        """
        ...

    def release(self, key: str, token: str) -> None:
        """Free ``key`` early, if ``token`` still holds it."""
        ...


class LocalLeases:
    """Leases in this container's memory: they bind only the invocations this container runs."""

    def __init__(self, *, clock: Callable[[], float] = time.time, max_keys: int = 10_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, until: float) -> str | None:
        now = self._clock()
        with self._lock:
            held = self._held.get(key)
            if held is not None and held[1] > now:
                return None
            if len(self._held) >= self._max_keys:
                self._forget_expired(now)
            if len(self._held) >= self._max_keys:
                # Every key is live: refusing is the safe answer for a guard (a replay or a second check).
                return None
            token = secrets.token_hex(8)
            self._held[key] = (token, until)
            return token

    def release(self, key: str, token: str) -> None:
        with self._lock:
            if self._held.get(key, ("", 0.0))[0] == token:
                del self._held[key]

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, (_, until) in self._held.items() if until <= now]:
            del self._held[key]
