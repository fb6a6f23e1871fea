"""Cached endpoint lookups: local tier, shared tier, then upstream.

The service depends on small protocols, so the core stays free of AWS and HTTP
and is tested with in-memory fakes. The adapters implement the protocols.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from endpoint_relay.core.cache import CacheEntry, CachePolicy, CacheStatus, LocalCache
from endpoint_relay.core.errors import EndpointNotFoundError, UpstreamAuthError, UpstreamError
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.secrets import RelaySecrets

logger = logging.getLogger(__name__)


class SharedCacheError(Exception):
    """The shared tier failed; lookups carry on with the local tier only."""


class SecretSource(Protocol):
    def get(self, *, force_refresh: bool = False) -> RelaySecrets: ...


class EndpointSource(Protocol):
    def get_endpoint(self, endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        """Return the raw body and its parsed model; raise an UpstreamError subclass or EndpointNotFoundError."""
        ...


class SharedCache(Protocol):
    def get(self, endpoint_id: str) -> CacheEntry | None: ...

    def put(self, endpoint_id: str, entry: CacheEntry, retain_until: float) -> None: ...

    def claim_refresh(self, endpoint_id: str, seen_fetched_at: float, now: float, until: float) -> bool:
        """Atomically become the one container refreshing the entry fetched at ``seen_fetched_at``."""
        ...


@dataclass(frozen=True, slots=True)
class LookupResult:
    body: str
    endpoint: Endpoint
    status: CacheStatus
    age: int
    max_age: int


class LookupService:
    def __init__(
        self,
        *,
        upstream: EndpointSource,
        secrets: SecretSource,
        policy: CachePolicy,
        local: LocalCache | None = None,
        shared: SharedCache | None = None,
        refresh_lease_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._upstream = upstream
        self._secrets = secrets
        self._policy = policy
        self._local = local if local is not None else LocalCache()
        self._shared = shared
        self._refresh_lease_seconds = refresh_lease_seconds
        """How long one container may hold the right to refresh an expired shared entry; 0 disables it."""
        self._clock = clock

    def cached(self, endpoint_id: str) -> LookupResult | None:
        """A fresh local answer, or None; never touches the network (Slack's 3-second path)."""
        entry = self._local.get(endpoint_id)
        now = self._clock()
        if entry is None or not self._policy.is_fresh(entry, now):
            return None
        return self._result(entry, CacheStatus.HIT, now)

    def lookup(self, endpoint_id: str, *, force_refresh: bool = False) -> LookupResult:
        now = self._clock()
        entry = self._local.get(endpoint_id)
        if not force_refresh:
            if entry is not None and self._policy.is_fresh(entry, now):
                return self._result(entry, CacheStatus.HIT, now)
            shared_entry = self._shared_get(endpoint_id)
            if shared_entry is not None:
                if self._policy.is_fresh(shared_entry, now):
                    self._local.put(endpoint_id, shared_entry)
                    return self._result(shared_entry, CacheStatus.HIT, now)
                if entry is None or shared_entry.fetched_at > entry.fetched_at:
                    entry = shared_entry
                if self._another_container_is_refreshing(endpoint_id, shared_entry, now):
                    # Stale-while-revalidate across containers: without it every warm container
                    # goes upstream in the same instant the shared entry expires.
                    return self._result(shared_entry, CacheStatus.STALE, now)
        try:
            fresh = self._fetch(endpoint_id)
        except UpstreamError:
            if entry is not None and self._policy.is_servable_stale(entry, self._clock()):
                return self._result(entry, CacheStatus.STALE, self._clock())
            raise
        self._store(endpoint_id, fresh)
        status = CacheStatus.REFRESH if force_refresh else CacheStatus.MISS
        return self._result(fresh, status, self._clock())

    def _another_container_is_refreshing(self, endpoint_id: str, entry: CacheEntry, now: float) -> bool:
        if self._shared is None or self._refresh_lease_seconds <= 0:
            return False
        if entry.is_negative or not self._policy.is_servable_stale(entry, now):
            return False
        try:
            claimed = self._shared.claim_refresh(endpoint_id, entry.fetched_at, now, now + self._refresh_lease_seconds)
        except SharedCacheError:
            return False  # cannot coordinate: refresh ourselves rather than serve stale
        return not claimed

    def _fetch(self, endpoint_id: str) -> CacheEntry:
        try:
            body, endpoint = self._call_upstream(endpoint_id)
        except EndpointNotFoundError:
            self._store(endpoint_id, CacheEntry(fetched_at=self._clock()))
            raise
        return CacheEntry(fetched_at=self._clock(), body=body, endpoint=endpoint)

    def _call_upstream(self, endpoint_id: str) -> tuple[str, Endpoint]:
        secrets = self._secrets.get()
        try:
            return self._upstream.get_endpoint(endpoint_id, secrets.together_api_key)
        except UpstreamAuthError:
            # The key may have been rotated since we cached it: re-read once, retry once.
            logger.warning("upstream rejected the API key; refreshing the secret and retrying once")
            secrets = self._secrets.get(force_refresh=True)
            return self._upstream.get_endpoint(endpoint_id, secrets.together_api_key)

    def _store(self, endpoint_id: str, entry: CacheEntry) -> None:
        self._local.put(endpoint_id, entry)
        if self._shared is None:
            return
        try:
            self._shared.put(endpoint_id, entry, self._policy.retain_until(entry))
        except SharedCacheError:
            logger.warning("shared cache write failed; continuing with the local tier")

    def _shared_get(self, endpoint_id: str) -> CacheEntry | None:
        if self._shared is None:
            return None
        try:
            entry = self._shared.get(endpoint_id)
        except SharedCacheError:
            logger.warning("shared cache read failed; continuing with the local tier")
            return None
        if entry is not None and entry.is_negative and self._policy.is_fresh(entry, self._clock()):
            self._local.put(endpoint_id, entry)
        return entry

    def _result(self, entry: CacheEntry, status: CacheStatus, now: float) -> LookupResult:
        if entry.is_negative or entry.body is None or entry.endpoint is None:
            raise EndpointNotFoundError("endpoint not found", param="endpointId")
        return LookupResult(
            body=entry.body,
            endpoint=entry.endpoint,
            status=status,
            age=int(self._policy.age(entry, now)),
            max_age=0 if status is CacheStatus.STALE else self._policy.remaining_fresh(entry, now),
        )
