"""The alerting units every function shares, built on first use (see :mod:`endpoint_relay.wiring.common`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from endpoint_relay.adapters import aws_clients
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.adapters.policy_source import SsmPolicySource
from endpoint_relay.adapters.secret_store import SecretStore
from endpoint_relay.adapters.slack_webhook import SlackSink, SlackWebhookClient
from endpoint_relay.adapters.sns_notifier import SnsSink
from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.reasons import EventFeed, EventReasons
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core.alerting import AlertStore, Sink
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.policy import PolicyDocument
from endpoint_relay.core.prices import LazyPrices, Prices
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.settings import AlertSink, Settings, SlackWebhookSettings
from endpoint_relay.wiring.common import Clock


@dataclass(frozen=True, slots=True)
class Alerting:
    store: AlertStore | None
    recorder: DecisionRecorder
    dispatcher: NoticeDispatcher
    mutes: Mutes
    lookup_alerts: LookupAlerts
    sinks: tuple[Sink, ...] = ()

    def observe_v2(self, project_id: str, endpoint: V2Endpoint) -> None:
        """After a successful v2 fetch: record what the policy says, and deliver within the request's budget."""
        self.lookup_alerts.observe_v2(project_id, endpoint)


def build_alerting(
    settings: Settings,
    *,
    secrets: SecretStore,
    clock: Clock,
    deadline: Deadline,
    sinks: Sequence[Sink] | None,
    events: EventFeed | None = None,
    default_project: str | None = None,
    prices: Callable[[], Prices] | None = None,
) -> Alerting:
    """``events`` (the Together client) explains v2 notices; ``default_project`` is what a bare ``ep_…`` means;
    ``prices`` prices each notice as it is issued."""
    store = DynamoAlertStore(settings.alert_table_name) if settings.alert_table_name else None
    if sinks is None:
        sinks = _sinks(settings, secrets, deadline)
    sink_names = [sink.name for sink in sinks]
    dispatcher = _dispatcher(store, sinks, settings.slack_webhook, clock, deadline)
    reasons = None
    if events is not None:
        reasons = EventReasons(
            events,
            lambda: secrets.get().together_api_key,
            deadline,
            # One connection and a second to answer: enough for the feed, whose call the deadline caps. Its worst
            # case with retries (22 s by default) would never fit beside delivery in a 29-second lookup.
            call_seconds=min(settings.upstream.worst_case_seconds(), settings.upstream.connect_timeout + 1.0),
            # Delivering the notice afterwards must still fit; else the reason is left out, not the notice.
            reserve_seconds=dispatcher.budget_seconds,
        )
    recorder = DecisionRecorder(
        policy=_policy(settings),
        store=store,
        sink_names=sink_names,
        clock=clock,
        repeat_interval=settings.alert_repeat_seconds,
        reasons=reasons,
        default_project=default_project,
        # Built, and a catalogue read, only when a notice is issued.
        prices=LazyPrices(prices) if prices is not None else None,
    )
    return Alerting(
        store=store,
        recorder=recorder,
        dispatcher=dispatcher,
        mutes=Mutes(store=store, sink_names=sink_names, clock=clock),
        lookup_alerts=LookupAlerts(recorder=recorder, dispatcher=dispatcher),
        sinks=tuple(sinks),
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
        settle_seconds=aws_clients.worst_case_seconds(),
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
