"""The pieces every function shares: the deadline, secrets, the Together client and lookups; the rest on demand.

Alerting (the store, policy, sinks and their renderers), prices and the fleet view are built on first use: a
lookup answered from the cache, and a relay without an alert table, never import them. That keeps
ApiFunction's cold start close to what its libraries alone cost (``make bench``, cold start against
``dependencies``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.adapters.shared_cache import DynamoSharedCache
from endpoint_relay.adapters.together import TogetherClient, UpstreamObserver
from endpoint_relay.core.cache import CachePolicy, LocalCache
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import UpstreamAuthError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.observability import record_upstream_call
from endpoint_relay.settings import Settings

if TYPE_CHECKING:
    from endpoint_relay.app.fleet_view import FleetView
    from endpoint_relay.core.alerting import Sink
    from endpoint_relay.core.prices import Prices
    from endpoint_relay.wiring.alerting import Alerting

Clock = Callable[[], float]

PROCESS_DEADLINE = Deadline()
"""One per process: Lambda runs one invocation per container at a time, and every AWS client is process-wide."""


class Shared(NamedTuple):
    """The object graph every function shares."""

    settings: Settings
    clock: Clock
    deadline: Deadline
    secrets: SecretStore
    together: TogetherClient
    lookups: LookupService
    alerting: Callable[[], Alerting]
    """The alerting units, built on the first call (see the module docstring)."""
    prices: Callable[[], Prices]
    """Prices per replica-hour by hardware id, built on the first call (a lookup never needs them)."""
    fleet: Callable[[], FleetView]
    """The fleet spend view (``/relay/fleet``, ``/together spend``, the digest), built on the first call."""


class SharedOptions(TypedDict, total=False):
    """What a test swaps in any function's graph (each builder passes them on to ``build_shared``)."""

    clock: Clock
    deadline: Deadline
    sinks: Sequence[Sink] | None


def build_shared(
    settings: Settings,
    *,
    clock: Clock = time.time,
    sinks: Sequence[Sink] | None = None,
    deadline: Deadline = PROCESS_DEADLINE,
) -> Shared:
    aws_clients.configure(max_pool_connections=settings.sweep_max_workers)
    aws_clients.use_deadline(deadline)
    secrets = SecretStore(settings.secret_id, max_age=settings.secret_max_age)
    together = _together(settings, deadline)

    @cache
    def alerting() -> Alerting:
        from endpoint_relay.wiring.alerting import build_alerting  # deferred: see the module docstring

        return build_alerting(
            settings,
            secrets=secrets,
            clock=clock,
            deadline=deadline,
            sinks=sinks,
            # v2 notices quote the endpoint's events feed; a bare ``ep_…`` in the policy means this project.
            events=together,
            default_project=settings.default_project_id,
            prices=prices,
        )

    @cache
    def prices() -> Prices:
        from endpoint_relay.app.price_catalogue import PRICE_POLICY, CataloguePrices  # deferred: lookups never price

        # Its own tiers: the catalogues keep for an hour, not for the lookups' CACHE_TTL_SECONDS.
        return CataloguePrices(_lookups(settings, together, secrets, policy=PRICE_POLICY), together)

    shared = Shared(
        settings=settings,
        clock=clock,
        deadline=deadline,
        secrets=secrets,
        together=together,
        lookups=_lookups(settings, together, secrets),
        alerting=alerting,
        prices=prices,
        fleet=cache(lambda: _fleet_view(shared)),
    )
    return shared


def _fleet_view(shared: Shared) -> FleetView:
    from endpoint_relay.wiring.fleet import build_fleet_view  # deferred: see the module docstring

    return build_fleet_view(shared)


def _together(settings: Settings, deadline: Deadline) -> TogetherClient:
    return TogetherClient(
        settings.upstream,
        # A sweep's workers share this pool: one connection each, none discarded.
        pool_size=max(10, settings.sweep_max_workers),
        # Sweep workers report upstream calls concurrently; Powertools' metric set is not thread-safe.
        observer=_serialized(record_upstream_call),
        deadline=deadline,
    )


def _lookups(
    settings: Settings, together: TogetherClient, secrets: SecretStore, *, policy: CachePolicy | None = None
) -> LookupService:
    return LookupService(
        upstream=together,
        secrets=secrets,
        policy=policy or settings.cache.policy,
        local=LocalCache(),
        shared=DynamoSharedCache(settings.cache.table_name) if settings.cache.table_name else None,
        # Long enough for one upstream request with its retries; if the holder dies, others wait this long.
        refresh_lease_seconds=settings.upstream.worst_case_seconds(),
    )


def together_lister(together: TogetherClient, secrets: SecretStore) -> Callable[[], list[str]]:
    """Ids of all dedicated endpoints; a rejected key is re-read once, as lookups do."""

    def list_ids() -> list[str]:
        try:
            return together.list_endpoint_ids(secrets.get().together_api_key)
        except UpstreamAuthError:
            return together.list_endpoint_ids(secrets.get(force_refresh=True).together_api_key)

    return list_ids


def _serialized(observer: UpstreamObserver) -> UpstreamObserver:
    lock = threading.Lock()

    def observe(latency_ms: float, error_kind: str | None) -> None:
        with lock:
            observer(latency_ms, error_kind)

    return observe
