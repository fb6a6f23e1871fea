"""Builds the relay's long-lived objects once per container, from validated settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.adapters.lambda_invoker import AsyncInvoker, LambdaSelfInvoker
from endpoint_relay.adapters.policy_source import SsmPolicySource
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.adapters.shared_cache import DynamoSharedCache
from endpoint_relay.adapters.slack_response import SlackResponder
from endpoint_relay.adapters.slack_webhook import SlackSink, SlackWebhookClient, SlackWebhookConfig
from endpoint_relay.adapters.sns_notifier import SnsSink
from endpoint_relay.adapters.together import ClientConfig, TogetherClient, UpstreamObserver
from endpoint_relay.alert_service import AlertConfig, AlertService, console_link, together_lister
from endpoint_relay.core.alerting import Sink
from endpoint_relay.core.cache import CachePolicy, LocalCache
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.policy import PolicyDocument
from endpoint_relay.observability import record_upstream_call
from endpoint_relay.settings import AlertSink, Settings


@dataclass(frozen=True, slots=True)
class Relay:
    settings: Settings
    secrets: SecretStore
    together: TogetherClient
    lookups: LookupService
    invoker: AsyncInvoker
    """Queues the Slack command's follow-up as an asynchronous invocation of this function."""
    slack_responder: SlackResponder
    alerts: AlertService = field(default_factory=AlertService.inactive)
    """Policy evaluation, alert state, notifications, sweeps and mutes (issue 3)."""


@cache
def get() -> Relay:
    return build(Settings.from_env())


def build(settings: Settings) -> Relay:
    aws_clients.configure(max_pool_connections=settings.sweep_max_workers)
    secrets = SecretStore(settings.secret_id, max_age=settings.secret_max_age)
    together = TogetherClient(
        ClientConfig(
            base_url=settings.together_base_url,
            connect_timeout=settings.upstream_connect_timeout,
            read_timeout=settings.upstream_read_timeout,
            max_retries=settings.upstream_max_retries,
            max_retry_after=settings.upstream_max_retry_after,
            max_response_bytes=settings.upstream_max_response_bytes,
            # A sweep's workers share this pool: one connection each, none discarded.
            pool_size=max(10, settings.sweep_max_workers),
        ),
        # Sweep workers report upstream calls concurrently; Powertools' metric set is not thread-safe.
        observer=_serialized(record_upstream_call),
    )
    shared = DynamoSharedCache(settings.cache_table_name) if settings.cache_table_name else None
    lookups = LookupService(
        upstream=together,
        secrets=secrets,
        policy=CachePolicy(
            fresh_ttl=settings.cache_ttl,
            stale_window=settings.cache_stale_window,
            negative_ttl=settings.cache_negative_ttl,
        ),
        local=LocalCache(),
        shared=shared,
        # Long enough for one upstream request with its retries; if the holder dies, others wait this long.
        refresh_lease_seconds=settings.upstream_worst_case_seconds(),
    )
    return Relay(
        settings=settings,
        secrets=secrets,
        together=together,
        lookups=lookups,
        invoker=LambdaSelfInvoker(settings.function_name),
        slack_responder=SlackResponder(
            settings.slack_response_url_hosts, allow_http=settings.slack_response_url_allow_http
        ),
        alerts=_alerts(settings, secrets, together, lookups),
    )


def _alerts(settings: Settings, secrets: SecretStore, together: TogetherClient, lookups: LookupService) -> AlertService:
    console_url = console_link(settings.together_console_url)
    sinks: list[Sink] = []
    slack = SlackWebhookConfig(
        connect_timeout=settings.slack_connect_timeout,
        read_timeout=settings.slack_read_timeout,
        max_retry_after=settings.slack_max_retry_after,
    )
    if AlertSink.SLACK in settings.alert_sinks:
        # Read on every delivery (through the secret's cache): a rotated webhook URL is picked up.
        sinks.append(SlackSink(SlackWebhookClient(lambda: secrets.get().slack_webhook_url, slack), console_url))
    if AlertSink.SNS in settings.alert_sinks and settings.alert_topic_arn:
        sinks.append(SnsSink(settings.alert_topic_arn, console_url))
    policy: Callable[[], PolicyDocument]
    if settings.policy_parameter_name:
        policy = SsmPolicySource(settings.policy_parameter_name, max_age=settings.policy_max_age)
    else:
        document = settings.policy or PolicyDocument.default()
        policy = lambda: document  # noqa: E731 - a constant policy
    return AlertService(
        policy=policy,
        store=DynamoAlertStore(settings.alert_table_name) if settings.alert_table_name else None,
        sinks=sinks,
        lookups=lookups,
        list_endpoint_ids=together_lister(together, secrets),
        config=AlertConfig(
            repeat_interval=settings.alert_repeat_seconds,
            watched=settings.watched_endpoints,
            max_workers=settings.sweep_max_workers,
            time_margin_ms=settings.sweep_time_margin_ms,
            # Longer than the slowest Slack delivery (all attempts and Retry-After waits), doubled.
            lease_seconds=max(60.0, 2 * slack.worst_case_seconds()),
            # SNS (boto3: 2 attempts of 2 s connect + 3 s read) fits in the same budget as Slack.
            delivery_budget_ms=int(max(slack.worst_case_seconds(), 10.0) * 1000),
        ),
    )


def _serialized(observer: UpstreamObserver) -> UpstreamObserver:
    lock = threading.Lock()

    def observe(latency_ms: float, error_kind: str | None) -> None:
        with lock:
            observer(latency_ms, error_kind)

    return observe


def reset() -> None:
    """Drop everything built from the environment (tests change it between cases)."""
    get.cache_clear()
    aws_clients.reset()
