"""Alerting, composed: the policy, the lifecycle, the state store and the sinks.

Used by three callers: HTTP lookups (``observe`` after a real retrieval), the
scheduled sweep (``sweep``) and the Slack commands (``evaluate``, ``sweep``,
``mute``/``unmute``). Whoever calls, only the state store decides whether anybody
is notified, so a burst of lookups of a broken endpoint yields one message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from endpoint_relay.core.alerting import (
    DEFAULT_REPEAT_INTERVAL,
    AlertStore,
    AlertStoreError,
    DeliveryError,
    EndpointCheck,
    EndpointSnapshot,
    Notice,
    Sink,
    StoredAlert,
    SweepReport,
    decide,
    state_since,
)
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.endpoint_id import is_valid_endpoint_id, require_endpoint_id
from endpoint_relay.core.errors import ConfigurationError, EndpointNotFoundError, RelayError, UpstreamAuthError
from endpoint_relay.core.lookup import LookupService, SecretSource
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Expectations, Finding, PolicyDocument, evaluate
from endpoint_relay.observability import count, metrics

logger = logging.getLogger(__name__)

_MAX_WRITE_ATTEMPTS = 4
"""Lost conditional writes before giving up on one endpoint in one sweep (each loss means progress elsewhere)."""


@dataclass(frozen=True, slots=True)
class AlertConfig:
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL
    watched: tuple[str, ...] | None = None
    """Endpoint ids a sweep checks when given no targets; None means every dedicated endpoint."""
    max_workers: int = 10
    time_margin_ms: int = 5_000
    """A sweep starts no new check once the invocation has less than this left."""
    lease_seconds: float = 60.0
    """How long a claimed delivery is reserved; must exceed the slowest delivery attempt."""
    delivery_budget_ms: int = 15_000
    """Deliver only with at least this much time left; otherwise the next sweep delivers."""


class EndpointLister(Protocol):
    def list_endpoint_ids(self, api_key: str) -> list[str]: ...


def console_link(template: str) -> Callable[[str], str]:
    """The Together console URL for an endpoint, from a template containing ``{endpoint_id}``."""

    def link(endpoint_id: str) -> str:
        return template.replace("{endpoint_id}", quote(endpoint_id, safe=""))

    return link


def together_lister(client: EndpointLister, secrets: SecretSource) -> Callable[[], list[str]]:
    """Ids of all dedicated endpoints; a rejected key is re-read once, as lookups do."""

    def list_ids() -> list[str]:
        try:
            return client.list_endpoint_ids(secrets.get().together_api_key)
        except UpstreamAuthError:
            return client.list_endpoint_ids(secrets.get(force_refresh=True).together_api_key)

    return list_ids


@dataclass(frozen=True)
class _Outcome:
    check: EndpointCheck
    owed: tuple[Notice, frozenset[str]] | None = None
    """A notice and the sinks that still owe it; None when nothing is owed or the endpoint is muted."""
    suppressed: bool = False


@dataclass
class _Tally:
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    suppressed: int = 0


class AlertService:
    def __init__(
        self,
        *,
        policy: Callable[[], PolicyDocument] = PolicyDocument.default,
        store: AlertStore | None = None,
        sinks: Sequence[Sink] = (),
        lookups: LookupService | None = None,
        list_endpoint_ids: Callable[[], Sequence[str]] | None = None,
        config: AlertConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._policy = policy
        self._store = store
        self._sinks = tuple(sinks)
        self._sink_names = frozenset(sink.name for sink in self._sinks)
        self._lookups = lookups
        self._list_endpoint_ids = list_endpoint_ids
        self._config = config or AlertConfig()
        self._clock = clock

    @classmethod
    def inactive(cls) -> AlertService:
        """Policy evaluation with built-in defaults; no state, no sinks, no sweeps."""
        return cls()

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Replace the clock (tests jump past the repeat interval without sleeping)."""
        self._clock = clock

    # -- policy only -------------------------------------------------------------------------------------------

    def evaluate(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        """The endpoint's findings; reads the state store for "stuck" timing, writes nothing, notifies nobody."""
        now = self._clock()
        since = None
        if self._store is not None:
            try:
                stored = self._store.load(endpoint.id)
            except AlertStoreError:
                logger.warning("alert state unavailable; evaluating without it", extra={"endpoint_id": endpoint.id})
                stored = None
            since = state_since(stored.state, endpoint.state, now) if stored else None
        return evaluate(endpoint, self._expectations(endpoint.id), state_since=since, now=now)

    # -- after a retrieval -------------------------------------------------------------------------------------

    def observe(self, endpoint: Endpoint, *, remaining_ms: Callable[[], int] | None = None) -> tuple[Finding, ...]:
        """Evaluate, record the outcome, and deliver whatever the state store says is owed.

        With ``remaining_ms``, delivery is left to the next sweep when the invocation has too
        little time for it (an HTTP lookup must answer within API Gateway's 30 s).
        """
        outcome = self._observe(endpoint)
        tally = _Tally()
        if outcome.owed and not self._short_of_time(remaining_ms):
            tally = self._deliver([outcome])
        tally.suppressed += int(outcome.suppressed)
        _emit_alert_metrics(tally)
        return outcome.check.findings

    # -- muting ------------------------------------------------------------------------------------------------

    def mute(self, endpoint_id: str, until_epoch: float, actor: str) -> None:
        require_endpoint_id(endpoint_id)
        self._require_store().set_mute(endpoint_id, float(until_epoch), actor=actor, now=self._clock())
        logger.info("endpoint muted", extra={"endpoint_id": endpoint_id, "muted_until": until_epoch, "actor": actor})

    def unmute(self, endpoint_id: str, actor: str) -> None:
        require_endpoint_id(endpoint_id)
        self._require_store().set_mute(endpoint_id, None, actor=actor, now=self._clock())
        logger.info("endpoint unmuted", extra={"endpoint_id": endpoint_id, "actor": actor})

    def muted_until(self, endpoint_id: str) -> float | None:
        require_endpoint_id(endpoint_id)
        stored = self._require_store().load(endpoint_id)
        if stored is None or not stored.state.is_muted(self._clock()):
            return None
        return stored.state.muted_until

    # -- sweeps ------------------------------------------------------------------------------------------------

    def sweep(
        self, targets: Sequence[str] | None = None, *, remaining_ms: Callable[[], int] | None = None
    ) -> SweepReport:
        """Check endpoints concurrently and deliver what is owed; per-endpoint failures are reported, not raised."""
        if self._lookups is None:
            raise ConfigurationError("sweeps need the Together client; this alert service has none")
        started = time.perf_counter()
        endpoint_ids = self._targets(targets)
        margin = self._config.time_margin_ms

        def check(endpoint_id: str) -> _Outcome | None:
            if remaining_ms is not None and remaining_ms() < margin:
                return None  # reported as skipped; the next sweep checks it
            return self._sweep_one(endpoint_id)

        workers = max(1, min(self._config.max_workers, len(endpoint_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
            results = list(pool.map(check, endpoint_ids))
            outcomes = [result for result in results if result is not None]
            owed = any(outcome.owed for outcome in outcomes)
            tally = self._deliver(outcomes, pool) if owed and not self._short_of_time(remaining_ms) else _Tally()
        tally.suppressed += sum(outcome.suppressed for outcome in outcomes)
        report = SweepReport(
            checks=tuple(outcome.check for outcome in outcomes),
            skipped=tuple(
                endpoint_id for endpoint_id, result in zip(endpoint_ids, results, strict=True) if result is None
            ),
            notifications_sent=sum(tally.sent.values()),
            duration_ms=(time.perf_counter() - started) * 1000.0,
            delivery_failures=sum(tally.failed.values()),
            suppressed=tally.suppressed,
        )
        _emit_alert_metrics(tally)
        _emit_sweep_metrics(report)
        return report

    def _short_of_time(self, remaining_ms: Callable[[], int] | None) -> bool:
        if remaining_ms is None or remaining_ms() >= self._config.delivery_budget_ms:
            return False
        logger.warning("too little time left to deliver; the notices stay owed for the next sweep")
        return True

    def _targets(self, targets: Sequence[str] | None) -> list[str]:
        chosen = self._config.watched if targets is None else tuple(targets)
        if chosen is None or tuple(chosen) == ("all",):
            if self._list_endpoint_ids is None:
                raise ConfigurationError("sweeping 'all' endpoints needs Together's list API")
            try:
                chosen = tuple(self._list_endpoint_ids())
            except RelayError as exc:
                # Nothing can be checked; failing the invocation lets EventBridge retry, and the
                # missing heartbeat raises the "sweeps stopped" alarm if it persists.
                logger.error("listing the dedicated endpoints failed", extra={"error_code": exc.code})
                raise
        # Keep the order, drop repeats: a duplicated id must not be checked twice at once.
        return list(dict.fromkeys(endpoint_id.strip() for endpoint_id in chosen if endpoint_id.strip()))

    def _sweep_one(self, endpoint_id: str) -> _Outcome:
        assert self._lookups is not None  # noqa: S101 - checked by sweep()
        if not is_valid_endpoint_id(endpoint_id):
            return _failed(endpoint_id, None, "invalid endpoint id")
        try:
            # A sweep must see Together's current answer, and leaves it in the cache for lookups.
            result = self._lookups.lookup(endpoint_id, force_refresh=True)
        except EndpointNotFoundError:
            return _failed(endpoint_id, None, "endpoint not found")
        except RelayError as exc:
            return _failed(endpoint_id, None, f"{exc.code or 'error'}: {exc.message}")
        except Exception:  # one endpoint's surprise must not abort the sweep
            logger.exception("endpoint check failed unexpectedly", extra={"endpoint_id": endpoint_id})
            return _failed(endpoint_id, None, "internal error")
        if result.status is CacheStatus.STALE:
            return _failed(endpoint_id, result.endpoint.state, "Together failed; a stale copy is not evaluated")
        try:
            return self._observe(result.endpoint)
        except RelayError as exc:
            return _failed(endpoint_id, result.endpoint.state, f"{exc.code or 'error'}: {exc.message}")

    # -- the lifecycle -----------------------------------------------------------------------------------------

    def _expectations(self, endpoint_id: str) -> Expectations:
        return self._policy().for_endpoint(endpoint_id)

    def _observe(self, endpoint: Endpoint) -> _Outcome:
        expected = self._expectations(endpoint.id)
        if self._store is None:
            findings = evaluate(endpoint, expected, now=self._clock())
            return _Outcome(EndpointCheck(endpoint.id, endpoint.state, findings))
        try:
            return self._record(endpoint, expected, self._store)
        except AlertStoreError as exc:
            logger.warning("alert state unavailable", extra={"endpoint_id": endpoint.id, "error": exc.message})
            findings = evaluate(endpoint, expected, now=self._clock())
            return _Outcome(EndpointCheck(endpoint.id, endpoint.state, findings, error=f"{exc.code}: {exc.message}"))

    def _record(self, endpoint: Endpoint, expected: Expectations, store: AlertStore) -> _Outcome:
        snapshot = EndpointSnapshot.of(endpoint, expected)
        for _ in range(_MAX_WRITE_ATTEMPTS):
            now = self._clock()
            stored = store.load(endpoint.id)
            previous = stored.state if stored else None
            since = state_since(previous, endpoint.state, now)
            findings = evaluate(endpoint, expected, state_since=since, now=now)
            decision = decide(previous, snapshot, findings, now=now, repeat_interval=self._config.repeat_interval)
            if decision.write and not store.save(
                endpoint.id,
                decision.state,
                expected_version=stored.version if stored else 0,
                notice=decision.notice,
                sinks=sorted(self._sink_names),
                now=now,
            ):
                continue  # another invocation wrote first: look again, it may already have issued the notice
            muted = decision.state.is_muted(now)
            check = EndpointCheck(
                endpoint.id,
                endpoint.state,
                findings,
                muted=muted,
                notice=decision.notice.kind if decision.notice else None,
            )
            owed = None if muted else _owed(decision.notice, stored, self._sink_names)
            return _Outcome(check, owed, decision.suppressed is not None)
        raise AlertStoreError("alert state kept changing under this check", param=None)

    # -- delivery ----------------------------------------------------------------------------------------------

    def _deliver(self, outcomes: Sequence[_Outcome], pool: Executor | None = None) -> _Tally:
        store = self._store
        owed = [outcome.owed for outcome in outcomes if outcome.owed is not None]
        if store is None or not owed:
            return _Tally()
        owner = uuid.uuid4().hex
        wanted = [(sink, notice) for sink in self._sinks for notice, due in owed if sink.name in due]

        def claim(item: tuple[Sink, Notice]) -> bool:
            sink, notice = item
            try:
                return store.claim(
                    notice.endpoint_id,
                    sink.name,
                    notice.id,
                    owner=owner,
                    now=self._clock(),
                    lease=self._config.lease_seconds,
                )
            except AlertStoreError:
                logger.warning("could not claim a delivery", extra={"endpoint_id": notice.endpoint_id})
                return False

        claimed_flags = list(pool.map(claim, wanted)) if pool else [claim(item) for item in wanted]
        claimed = [item for item, won in zip(wanted, claimed_flags, strict=True) if won]
        by_sink = {sink.name: [notice for s, notice in claimed if s is sink] for sink in self._sinks}

        def deliver(sink: Sink) -> dict[str, DeliveryError | None]:
            notices = by_sink[sink.name]
            if not notices:
                return {}
            try:
                return sink.deliver(notices)
            except Exception:  # a sink's bug must not lose the other sink's deliveries
                logger.exception("sink failed unexpectedly", extra={"sink": sink.name})
                return dict.fromkeys((n.id for n in notices), DeliveryError("sink failed", kind="internal"))

        answers = list(pool.map(deliver, self._sinks)) if pool else [deliver(sink) for sink in self._sinks]
        tally = _Tally()
        for sink, results in zip(self._sinks, answers, strict=True):
            for notice in by_sink[sink.name]:
                error = results.get(notice.id, DeliveryError("no answer from sink", kind="internal"))
                self._settle(store, sink.name, notice, error, owner)
                if error is None:
                    tally.sent[sink.name] += 1
                else:
                    tally.failed[(sink.name, error.kind)] += 1
        return tally

    def _settle(self, store: AlertStore, sink: str, notice: Notice, error: DeliveryError | None, owner: str) -> None:
        try:
            if error is None:
                store.mark_delivered(notice.endpoint_id, sink, notice.id, owner=owner, now=self._clock())
            else:
                # Not sent: the notice stays owed, and the next sweep tries this sink again.
                logger.warning(
                    "notice not delivered; it stays owed",
                    extra={"endpoint_id": notice.endpoint_id, "sink": sink, "error_kind": error.kind},
                )
                store.release(notice.endpoint_id, sink, notice.id, owner=owner)
        except AlertStoreError:
            logger.error(
                "could not record a delivery outcome; the lease expires and the notice may be resent",
                extra={"endpoint_id": notice.endpoint_id, "sink": sink},
            )

    def _require_store(self) -> AlertStore:
        if self._store is None:
            raise ConfigurationError("alerting has no state store; set ALERT_TABLE_NAME")
        return self._store


def _owed(
    notice: Notice | None, stored: StoredAlert | None, sinks: frozenset[str]
) -> tuple[Notice, frozenset[str]] | None:
    if notice is not None:
        return (notice, sinks) if sinks else None
    if stored is None or stored.notice is None:
        return None
    due = stored.due & sinks
    return (stored.notice, due) if due else None


def _failed(endpoint_id: str, state: str | None, error: str) -> _Outcome:
    logger.warning("endpoint check failed", extra={"endpoint_id": endpoint_id[:120], "error": error})
    return _Outcome(EndpointCheck(endpoint_id, state, (), error=error))


def _emit_alert_metrics(tally: _Tally) -> None:
    # Called on the invoking thread only: Powertools' metric set is not thread-safe.
    if tally.sent:
        count("AlertsSent", sum(tally.sent.values()))
    for sink, sent in tally.sent.items():
        _by_dimension("AlertsSentBySink", sent, sink=sink)
    if tally.failed:
        count("DeliveryFailures", sum(tally.failed.values()))
    for (sink, kind), failed in tally.failed.items():
        _by_dimension("DeliveryFailuresBySink", failed, sink=sink, kind=kind[:64])
    if tally.suppressed:
        count("AlertsSuppressed", tally.suppressed)


def _emit_sweep_metrics(report: SweepReport) -> None:
    metrics.add_metric(name="SweepDuration", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    count("SweepChecks", len(report.checks))
    count("SweepCheckFailures", len(report.failures))
    count("SweepSkipped", len(report.skipped))
    count("SweepHeartbeat")  # the "sweeps stopped" alarm fires when this goes missing
    logger.info(
        "sweep finished",
        extra={
            "checked": len(report.checks),
            "failed": len(report.failures),
            "skipped": len(report.skipped),
            "notifications_sent": report.notifications_sent,
            "delivery_failures": report.delivery_failures,
            "suppressed": report.suppressed,
            "duration_ms": round(report.duration_ms, 1),
        },
    )


def _by_dimension(name: str, value: float, **dimensions: str) -> None:
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=metrics.namespace) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(name=key, value=dimension)
