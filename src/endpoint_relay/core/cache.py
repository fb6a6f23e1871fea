"""Cache entries, freshness rules and the per-container store.

Pure logic with an injected clock: the lookup service decides what to do with
an entry, this module only says how old it is and whether it may be served.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from enum import StrEnum
from typing import Any, NamedTuple

from endpoint_relay.core.models import Endpoint


class CacheStatus(StrEnum):
    HIT = "HIT"
    MISS = "MISS"
    STALE = "STALE"
    REFRESH = "REFRESH"


class CacheEntry[T = Endpoint](NamedTuple):
    """An upstream answer: the body as sent and its parsed ``value``, or a remembered 404 (no body)."""

    fetched_at: float
    body: str | None = None
    value: T | None = None

    @property
    def is_negative(self) -> bool:
        return self.body is None

    @property
    def endpoint(self) -> T | None:
        """The v1 name of ``value``: a v1 lookup's entry holds its DedicatedEndpoint."""
        return self.value


class CachePolicy(NamedTuple):
    """How long an answer is fresh, may be served stale, and a 404 is remembered (seconds)."""

    fresh_ttl: float
    stale_window: float
    """How long after it was fetched an entry may still be served when upstream fails."""
    negative_ttl: float

    def ttl(self, entry: CacheEntry[Any]) -> float:
        return self.negative_ttl if entry.is_negative else self.fresh_ttl

    def age(self, entry: CacheEntry[Any], now: float) -> float:
        return max(0.0, now - entry.fetched_at)

    def is_fresh(self, entry: CacheEntry[Any], now: float) -> bool:
        return self.age(entry, now) < self.ttl(entry)

    def is_servable_stale(self, entry: CacheEntry[Any], now: float) -> bool:
        return not entry.is_negative and self.age(entry, now) < max(self.stale_window, self.fresh_ttl)

    def retain_until(self, entry: CacheEntry[Any]) -> float:
        """Epoch seconds after which the entry is useless, even as stale (the shared tier's TTL)."""
        keep = self.negative_ttl if entry.is_negative else max(self.stale_window, self.fresh_ttl)
        return entry.fetched_at + keep

    def remaining_fresh(self, entry: CacheEntry[Any], now: float) -> int:
        return max(0, math.floor(self.ttl(entry) - self.age(entry, now)))


MAX_BODY_CHARS = 32 * 1024 * 1024
"""What the bodies one container keeps may add up to. With its parsed model an entry holds about 2.6 times its body
(measured on a v2 list page), so about 85 MB. A list page may be as large as the 1 MiB response cap: a bound on the
count alone would let 2,048 of them outgrow the function's 512 MB."""


class LocalCache:
    """LRU store bounded in entries and in body size, safe to share between the sweep's worker threads."""

    def __init__(self, max_entries: int = 2048, max_body_chars: int = MAX_BODY_CHARS) -> None:
        self._entries: OrderedDict[str, CacheEntry[Any]] = OrderedDict()
        self._max_entries = max_entries
        self._max_body_chars = max_body_chars
        self._body_chars = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: CacheEntry[Any]) -> None:
        with self._lock:
            current = self._entries.get(key)
            # Never let a slower, older fetch overwrite a newer one.
            if current is not None and current.fetched_at > entry.fetched_at:
                return
            self._body_chars += _size(entry) - (_size(current) if current is not None else 0)
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries or self._body_chars > self._max_body_chars:
                _, evicted = self._entries.popitem(last=False)
                self._body_chars -= _size(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._body_chars = 0

    def __len__(self) -> int:
        return len(self._entries)


def _size(entry: CacheEntry[Any]) -> int:
    return len(entry.body) if entry.body is not None else 0
