"""The pieces every function shares: the deadline, secrets, the Together client, lookups and alerting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import quote

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.adapters.policy_source import SsmPolicySource
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.adapters.shared_cache import DynamoSharedCache
from endpoint_relay.adapters.slack_webhook import SlackSink, SlackWebhookClient
from endpoint_relay.adapters.sns_notifier import SnsSink
from endpoint_relay.adapters.together import TogetherClient, UpstreamObserver
from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core.alerting import AlertStore, Sink
from endpoint_relay.core.cache import LocalCache
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import UpstreamAuthError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.policy import PolicyDocument
from endpoint_relay.observability import record_upstream_call
from endpoint_relay.settings import AlertSink, Settings, SlackWebhookSettings

Clock = Callable[[], float]

PROCESS_DEADLINE = Deadline()
"""One per process: Lambda runs one invocation per container at a time, and every AWS client is process-wide."""


@dataclass(frozen=True, slots=True)
class Shared:
    settings: Settings
    clock: Clock
    deadline: Deadline
    secrets: SecretStore
    together: TogetherClient
    lookups: LookupService
    store: AlertStore | None
    recorder: DecisionRecorder
    dispatcher: NoticeDispatcher
    mutes: Mutes
    lookup_alerts: LookupAlerts


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
    store = DynamoAlertStore(settings.alert_table_name) if settings.alert_table_name else None
    if sinks is None:
        sinks = _sinks(settings, secrets, deadline)
    recorder = DecisionRecorder(
        policy=_policy(settings),
        store=store,
        sink_names=[sink.name for sink in sinks],
        clock=clock,
        repeat_interval=settings.alert_repeat_seconds,
    )
    dispatcher = _dispatcher(store, sinks, settings.slack_webhook, clock, deadline)
    return Shared(
        settings=settings,
        clock=clock,
        deadline=deadline,
        secrets=secrets,
        together=together,
        lookups=_lookups(settings, together, secrets),
        store=store,
        recorder=recorder,
        dispatcher=dispatcher,
        mutes=Mutes(store=store, sink_names=[sink.name for sink in sinks], clock=clock),
        lookup_alerts=LookupAlerts(recorder=recorder, dispatcher=dispatcher),
    )


def _together(settings: Settings, deadline: Deadline) -> TogetherClient:
    return TogetherClient(
        settings.upstream,
        # A sweep's workers share this pool: one connection each, none discarded.
        pool_size=max(10, settings.sweep_max_workers),
        # Sweep workers report upstream calls concurrently; Powertools' metric set is not thread-safe.
        observer=_serialized(record_upstream_call),
        deadline=deadline,
    )


def _lookups(settings: Settings, together: TogetherClient, secrets: SecretStore) -> LookupService:
    return LookupService(
        upstream=together,
        secrets=secrets,
        policy=settings.cache.policy,
        local=LocalCache(),
        shared=DynamoSharedCache(settings.cache.table_name) if settings.cache.table_name else None,
        # Long enough for one upstream request with its retries; if the holder dies, others wait this long.
        refresh_lease_seconds=settings.upstream.worst_case_seconds(),
    )


def _dispatcher(
    store: AlertStore | None, sinks: Sequence[Sink], slack: SlackWebhookSettings, clock: Clock, deadline: Deadline
) -> NoticeDispatcher:
    # The slowest sink's worst case; SNS is an AWS call. Without sinks nothing is ever delivered.
    sink_seconds = {"slack": slack.worst_case_seconds(), "sns": aws_clients.worst_case_seconds()}
    delivery_seconds = max((sink_seconds.get(sink.name, slack.worst_case_seconds()) for sink in sinks), default=0.0)
    return NoticeDispatcher(
        store=store,
        sinks=sinks,
        clock=clock,
        deadline=deadline,
        # Longer than the slowest delivery (all attempts and Retry-After waits), doubled.
        lease_seconds=max(60.0, 2 * delivery_seconds),
        # Deliver, then record the outcome: both must fit, or the notices stay owed.
        budget_seconds=delivery_seconds + aws_clients.worst_case_seconds() if sinks else 0.0,
    )


def _sinks(settings: Settings, secrets: SecretStore, deadline: Deadline) -> list[Sink]:
    console_url = console_link(settings.together_console_url)
    sinks: list[Sink] = []
    if AlertSink.SLACK in settings.alert_sinks:
        # Read on every delivery (through the secret's cache): a rotated webhook URL is picked up.
        client = SlackWebhookClient(lambda: secrets.get().slack_webhook_url, settings.slack_webhook, deadline=deadline)
        sinks.append(SlackSink(client, console_url))
    if AlertSink.SNS in settings.alert_sinks and settings.alert_topic_arn:
        sinks.append(SnsSink(settings.alert_topic_arn, console_url))
    return sinks


def _policy(settings: Settings) -> Callable[[], PolicyDocument]:
    if settings.policy_parameter_name:
        return SsmPolicySource(settings.policy_parameter_name, max_age=settings.policy_max_age)
    document = settings.policy or PolicyDocument.default()
    return lambda: document


def console_link(template: str) -> Callable[[str], str]:
    """The Together console URL for an endpoint, from a template containing ``{endpoint_id}``."""

    def link(endpoint_id: str) -> str:
        return template.replace("{endpoint_id}", quote(endpoint_id, safe=""))

    return link


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
