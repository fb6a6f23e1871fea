"""A sweep's idle-spend verdict for one v2 endpoint: reads its analytics at most once per ``idle_after_hours / 4``.

One endpoint-wide analytics call covers all its deployments. The answer is
remembered for a quarter of the window in the shared cache tier (and this
container's memory), under a key of its own (``v2idle#…``, never a lookup's),
with the window's end as its ``fetched_at``. The shared tier because every
sweep container, cold or warm, then shares one call, and its items already
expire by themselves; not beside the alert state, because lookups write that
item too and would have to carry the answer through every conditional write.
Losing the tier costs at most one extra call per container, never a wrong
verdict. Reusing the answer delays a verdict by at most a quarter window: the
window judged ends when the analytics were read, and a deployment is judged
only if it was created by that window's start.

No analytics read (the policy is off, nothing could be idle) is a verdict of
none; a failed read is no verdict (``None``), so the recorder carries the last
one forward instead of resolving it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from endpoint_relay.core.analytics import RequestCounts, request_counts
from endpoint_relay.core.cache import CacheEntry, LocalCache
from endpoint_relay.core.errors import DeadlineExceededError, RelayError
from endpoint_relay.core.idle import IdleWindow, candidates, idle_findings
from endpoint_relay.core.lookup import SharedCache, SharedCacheError
from endpoint_relay.core.policy import Finding
from endpoint_relay.core.policy_v2 import candidates as deployments_of
from endpoint_relay.core.prices import Prices
from endpoint_relay.core.v2_models import Endpoint, load_json

logger = logging.getLogger(__name__)

REFRESH_FRACTION = 4
"""The analytics of one endpoint are read at most once per ``idle_after_hours / REFRESH_FRACTION``."""


class AnalyticsSource(Protocol):
    def get_v2_analytics(
        self, project_id: str, endpoint_id: str, api_key: str, *, start: float, end: float
    ) -> tuple[str, RequestCounts]: ...


class IdleSpend:
    def __init__(
        self,
        *,
        source: AnalyticsSource,
        api_key: Callable[[], str],
        prices: Callable[[], Prices],
        clock: Callable[[], float],
        shared: SharedCache | None = None,
        local: LocalCache | None = None,
    ) -> None:
        self._source = source
        self._api_key = api_key
        self._prices = prices
        self._clock = clock
        self._shared = shared
        self._local = local or LocalCache(max_entries=4096)

    def findings(self, endpoint: Endpoint, project_id: str, hours: float | None) -> tuple[Finding, ...] | None:
        """The endpoint's idle findings (maybe none), or ``None`` when its analytics could not be read."""
        if hours is None:
            return ()
        now = float(int(self._clock()))
        deployments = deployments_of(endpoint, None)
        if not candidates(deployments, IdleWindow(hours, now)):
            return ()  # nothing READY and old enough: no call
        key = f"v2idle#/projects/{project_id}/endpoints/{endpoint.id}/analytics?hours={hours:g}"
        remembered = self._remembered(key, hours, now)
        try:
            entry = remembered or self._read(key, project_id, endpoint.id, hours, now)
        except DeadlineExceededError:
            raise
        except RelayError as exc:
            logger.warning(
                "analytics unavailable; keeping the last idle verdict",
                extra={"endpoint_id": endpoint.id, "error": f"{exc.code or 'error'}: {exc.message}"},
            )
            return None
        counts = entry.value
        if counts is None:
            return None
        # Prices are asked for only when something is idle: a busy fleet never reads the catalogue here.
        window = IdleWindow(hours, entry.fetched_at)
        return idle_findings(deployments, counts, window, lambda hardware: self._prices().cents_per_hour(hardware))

    def _remembered(self, key: str, hours: float, now: float) -> CacheEntry[RequestCounts] | None:
        entry: CacheEntry[Any] | None = self._local.get(key)
        if entry is None or not _fresh(entry, hours, now):
            entry = self._shared_get(key)
            if entry is not None:
                self._local.put(key, entry)
        return entry if entry is not None and _fresh(entry, hours, now) else None

    def _shared_get(self, key: str) -> CacheEntry[RequestCounts] | None:
        if self._shared is None:
            return None
        try:
            return self._shared.get(key, lambda body: request_counts(load_json(body)))
        except SharedCacheError:
            logger.warning("shared cache read failed; reading analytics afresh")
            return None

    def _read(self, key: str, project_id: str, endpoint_id: str, hours: float, now: float) -> CacheEntry[Any]:
        window = IdleWindow(hours, now)
        body, counts = self._source.get_v2_analytics(
            project_id, endpoint_id, self._api_key(), start=window.start, end=window.end
        )
        entry = CacheEntry(fetched_at=now, body=body, value=counts)
        self._local.put(key, entry)
        if self._shared is not None:
            try:
                self._shared.put(key, entry, now + _refresh_seconds(hours))
            except SharedCacheError:
                logger.warning("shared cache write failed; the analytics are remembered in this container only")
        return entry


def _refresh_seconds(hours: float) -> float:
    return hours * 3600.0 / REFRESH_FRACTION


def _fresh(entry: CacheEntry[Any], hours: float, now: float) -> bool:
    return 0 <= now - entry.fetched_at < _refresh_seconds(hours)
