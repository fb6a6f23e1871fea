"""SweepFunction's object graph: the sweep runner and everything it checks and notifies with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Unpack

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.alert_batches import DynamoAlertBatches
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.adapters.shared_cache_batches import BatchedSharedWrites, BatchingSharedCache
from endpoint_relay.adapters.sweep_cursor import DynamoSweepCursor
from endpoint_relay.app.idle_spend import IdleSpend
from endpoint_relay.app.sweep import SweepConfig, SweepRunner
from endpoint_relay.app.v2_listing import V2Listing, page_size
from endpoint_relay.core.alert_preload import AlertBatchReader
from endpoint_relay.core.alerting import MemoryCursor, SweepCursor
from endpoint_relay.core.cache import LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.settings import Settings
from endpoint_relay.wiring.common import Shared, SharedOptions, build_shared, together_lister


@dataclass(frozen=True, slots=True)
class SweepGraph:
    shared: Shared
    sweeps: SweepRunner


def build_sweep(settings: Settings, **options: Unpack[SharedOptions]) -> SweepGraph:
    shared = build_shared(settings, **options)
    return SweepGraph(shared=shared, sweeps=sweep_runner(shared))


def sweep_runner(shared: Shared) -> SweepRunner:
    settings = shared.settings
    alerting = shared.alerting()
    cursor: SweepCursor = DynamoSweepCursor(settings.alert_table_name) if settings.alert_table_name else MemoryCursor()
    lookups, writes = _sweep_lookups(shared)
    return SweepRunner(
        lookups=lookups,
        flush_cache=writes.flush if writes is not None else lambda: None,
        recorder=alerting.recorder,
        dispatcher=alerting.dispatcher,
        deadline=shared.deadline,
        list_endpoint_ids=together_lister(shared.together, shared.secrets),
        list_v2=V2Listing(
            shared.together,
            shared.secrets,
            lookups,
            sorted(settings.allowed_project_ids),
            size=page_size(settings.upstream.max_response_bytes),
        ),
        v2_source=shared.together,
        idle=IdleSpend(
            source=shared.together,
            api_key=lambda: shared.secrets.get().together_api_key,
            prices=shared.prices,
            clock=shared.clock,
            shared=writes,
        ),
        cursor=cursor,
        preload=_preload(settings, alerting.store),
        config=SweepConfig(
            watched=settings.watched_endpoints,
            default_project=settings.default_project_id,
            max_workers=settings.sweep_max_workers,
            # Worth starting only with time for one Together attempt and then recording its alert state.
            check_seconds=max(
                settings.sweep_time_margin_ms / 1000.0,
                settings.upstream.connect_timeout + settings.upstream.read_timeout + aws_clients.worst_case_seconds(),
            ),
        ),
    )


def _preload(settings: Settings, store: object) -> AlertBatchReader | None:
    """The batch read of the alert table the recorder's store writes (none when the store is not that table)."""
    if settings.alert_table_name is None or not isinstance(store, DynamoAlertStore):
        return None
    return DynamoAlertBatches(settings.alert_table_name).load_many


def _sweep_lookups(shared: Shared) -> tuple[LookupService, BatchedSharedWrites | None]:
    """The lookups of wiring.common, with the shared tier's writes gathered into batches (a sweep writes many)."""
    settings = shared.settings
    if not settings.cache.table_name:
        return shared.lookups, None
    writes = BatchedSharedWrites(BatchingSharedCache(settings.cache.table_name))
    lookups = LookupService(
        upstream=shared.together,
        secrets=shared.secrets,
        policy=settings.cache.policy,
        local=LocalCache(),
        shared=writes,
        refresh_lease_seconds=settings.upstream.worst_case_seconds(),
    )
    return lookups, writes
