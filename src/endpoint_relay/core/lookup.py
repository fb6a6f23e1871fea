"""Cached lookups: local tier, shared tier, then upstream, for any resource the relay serves.

A v1 endpoint lookup is one :class:`Resource`; the v2 routes pass others (an
endpoint, a list page, an event feed) to :meth:`LookupService.fetch`, keyed so
the tiers never mix them. The service depends on small protocols, so the core
stays free of AWS and HTTP and is tested with in-memory fakes. The adapters
implement the protocols.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from endpoint_relay.core.cache import CacheEntry, CachePolicy, CacheStatus, LocalCache
from endpoint_relay.core.errors import EndpointNotFoundError, NotFoundError, UpstreamAuthError, UpstreamError
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
    def get[T](self, key: str, parse: Callable[[str], T]) -> CacheEntry[T] | None:
        """The entry under ``key`` with its body read by ``parse`` (which raises ValueError when it cannot)."""
        ...

    def put(self, key: str, entry: CacheEntry[Any], retain_until: float) -> None: ...

    def claim_refresh(self, key: str, seen_fetched_at: float, now: float, until: float) -> bool:
        """Atomically become the one container refreshing the entry fetched at ``seen_fetched_at``."""
        ...


class Resource[T](NamedTuple):
    """Anything the relay caches: where it lives in the cache, how to fetch it, how to read a cached body."""

    key: str
    """Unique across resources: v1 lookups use the bare ``endpoint-...`` id, v2 ones ``v2/<path>?<query>``."""
    fetch: Callable[[str], tuple[str, T]]
    """Given the Together key: the raw body and its parsed value; raises UpstreamError or a NotFoundError."""
    parse: Callable[[str], T]
    """Reads a body from the shared tier; raises ValueError when it cannot."""
    not_found: Callable[[], NotFoundError]
    """The error a remembered 404 is answered with."""


class Cached[T](NamedTuple):
    """An answer read from a cache tier: the body as sent, its model, and how old it is."""

    body: str
    value: T
    status: CacheStatus
    age: int
    max_age: int


class LookupResult(NamedTuple):
    """A v1 lookup's answer with its cache status and lifetimes, as the HTTP response needs them."""

    body: str
    endpoint: Endpoint
    status: CacheStatus
    age: int
    max_age: int


def _endpoint_not_found() -> NotFoundError:
    return EndpointNotFoundError("endpoint not found", param="endpointId")


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
        """A fresh local answer about a v1 endpoint, or None; never touches the network (Slack's 3-second path)."""
        result = self.fresh(self.v1_resource(endpoint_id))
        return None if result is None else _v1(result)

    def fresh[T](self, resource: Resource[T]) -> Cached[T] | None:
        """A fresh local answer, or None; never touches the network. A remembered 404 raises it."""
        entry: CacheEntry[T] | None = self._local.get(resource.key)
        now = self._clock()
        if entry is None or not self._policy.is_fresh(entry, now):
            return None
        return self._result(entry, CacheStatus.HIT, now, resource.not_found)

    def lookup(self, endpoint_id: str, *, force_refresh: bool = False) -> LookupResult:
        """A v1 endpoint, through both tiers."""
        return _v1(self.fetch(self.v1_resource(endpoint_id), force_refresh=force_refresh))

    def remember(self, key: str, body: str, value: object) -> None:
        """Keep an answer fetched in bulk (an item of a list page) as if ``key`` had just been fetched alone."""
        self._store(key, CacheEntry(fetched_at=self._clock(), body=body, value=value))

    def v1_resource(self, endpoint_id: str) -> Resource[Endpoint]:
        """A v1 endpoint as a :class:`Resource`, keyed by its bare id."""
        return Resource(
            key=endpoint_id,
            fetch=lambda api_key: self._upstream.get_endpoint(endpoint_id, api_key),
            parse=Endpoint.from_json,
            not_found=_endpoint_not_found,
        )

    def fetch[T](self, resource: Resource[T], *, force_refresh: bool = False) -> Cached[T]:
        """Any resource: the local tier, the shared tier, then upstream; stale if upstream fails."""
        key = resource.key
        now = self._clock()
        entry: CacheEntry[T] | None = self._local.get(key)
        if not force_refresh:
            if entry is not None and self._policy.is_fresh(entry, now):
                return self._result(entry, CacheStatus.HIT, now, resource.not_found)
            shared_entry = self._shared_get(resource)
            if shared_entry is not None:
                if self._policy.is_fresh(shared_entry, now):
                    self._local.put(key, shared_entry)
                    return self._result(shared_entry, CacheStatus.HIT, now, resource.not_found)
                if entry is None or shared_entry.fetched_at > entry.fetched_at:
                    entry = shared_entry
                if self._another_container_is_refreshing(key, shared_entry, now):
                    # Stale-while-revalidate across containers: without it every warm container
                    # goes upstream in the same instant the shared entry expires.
                    return self._result(shared_entry, CacheStatus.STALE, now, resource.not_found)
        try:
            fresh = self._fetch(resource)
        except UpstreamError:
            if entry is not None and self._policy.is_servable_stale(entry, self._clock()):
                return self._result(entry, CacheStatus.STALE, self._clock(), resource.not_found)
            raise
        self._store(key, fresh)
        status = CacheStatus.REFRESH if force_refresh else CacheStatus.MISS
        return self._result(fresh, status, self._clock(), resource.not_found)

    def _another_container_is_refreshing(self, key: str, entry: CacheEntry[Any], now: float) -> bool:
        if self._shared is None or self._refresh_lease_seconds <= 0:
            return False
        if entry.is_negative or not self._policy.is_servable_stale(entry, now):
            return False
        try:
            claimed = self._shared.claim_refresh(key, entry.fetched_at, now, now + self._refresh_lease_seconds)
        except SharedCacheError:
            return False  # cannot coordinate: refresh ourselves rather than serve stale
        return not claimed

    def _fetch[T](self, resource: Resource[T]) -> CacheEntry[T]:
        try:
            body, value = self._call_upstream(resource)
        except NotFoundError:
            self._store(resource.key, CacheEntry(fetched_at=self._clock()))
            raise
        return CacheEntry(fetched_at=self._clock(), body=body, value=value)

    def _call_upstream[T](self, resource: Resource[T]) -> tuple[str, T]:
        secrets = self._secrets.get()
        try:
            return resource.fetch(secrets.together_api_key)
        except UpstreamAuthError:
            # The key may have been rotated since we cached it: re-read once, retry once.
            logger.warning("upstream rejected the API key; refreshing the secret and retrying once")
            secrets = self._secrets.get(force_refresh=True)
            return resource.fetch(secrets.together_api_key)

    def _store(self, key: str, entry: CacheEntry[Any]) -> None:
        self._local.put(key, entry)
        if self._shared is None:
            return
        try:
            self._shared.put(key, entry, self._policy.retain_until(entry))
        except SharedCacheError:
            logger.warning("shared cache write failed; continuing with the local tier")

    def _shared_get[T](self, resource: Resource[T]) -> CacheEntry[T] | None:
        if self._shared is None:
            return None
        try:
            entry = self._shared.get(resource.key, resource.parse)
        except SharedCacheError:
            logger.warning("shared cache read failed; continuing with the local tier")
            return None
        if entry is not None and entry.is_negative and self._policy.is_fresh(entry, self._clock()):
            self._local.put(resource.key, entry)
        return entry

    def _result[T](
        self, entry: CacheEntry[T], status: CacheStatus, now: float, not_found: Callable[[], NotFoundError]
    ) -> Cached[T]:
        if entry.is_negative or entry.body is None or entry.value is None:
            raise not_found()
        return Cached(
            body=entry.body,
            value=entry.value,
            status=status,
            age=int(self._policy.age(entry, now)),
            max_age=0 if status is CacheStatus.STALE else self._policy.remaining_fresh(entry, now),
        )


def _v1(result: Cached[Endpoint]) -> LookupResult:
    return LookupResult(result.body, result.value, result.status, result.age, result.max_age)
