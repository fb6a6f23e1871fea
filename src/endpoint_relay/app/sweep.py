"""Runs a sweep: check the targets concurrently within the time left, then deliver what is owed.

The delivery budget is reserved before any check starts, so a long sweep still
delivers; the order rotates from where the last sweep stopped, so consecutive
sweeps check every target even when one sweep cannot. The targets' alert state
is read first, in batches, so a check costs one Together call and, only when
the endpoint's alert state changes, one conditional write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.core.alert_preload import AlertBatchReader, PreloadedAlert
from endpoint_relay.core.alerting import EndpointCheck, SweepCursor, SweepReport
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from endpoint_relay.core.errors import DeadlineExceededError, EndpointNotFoundError, RelayError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.observability import count, metrics

logger = logging.getLogger(__name__)

PRELOAD_BATCH = 100
"""Targets whose alert state one preload call reads (BatchGetItem's limit); the calls run side by side."""


@dataclass(frozen=True, slots=True)
class SweepConfig:
    watched: tuple[str, ...] | None = None
    """Endpoint ids a sweep checks when given no targets; None means every dedicated endpoint."""
    max_workers: int = 10
    check_seconds: float = 5.0
    """A check starts only with at least this long left before the delivery reserve."""


@dataclass(kw_only=True, slots=True, eq=False)
class SweepRunner:
    lookups: LookupService
    recorder: DecisionRecorder
    dispatcher: NoticeDispatcher
    deadline: Deadline
    list_endpoint_ids: Callable[[], Sequence[str]]
    cursor: SweepCursor
    config: SweepConfig
    preload: AlertBatchReader | None = None
    """Reads many targets' alert state at once; without it, each check reads its own."""
    flush_cache: Callable[[], None] = lambda: None
    """Writes what the checks' lookups left to write to the shared cache tier; never raises."""

    def run(self, targets: Sequence[str] | None = None) -> SweepReport:
        """Check endpoints and deliver what is owed; per-endpoint failures are reported, not raised."""
        started = time.perf_counter()
        endpoint_ids = _rotated(self._targets(targets), self.cursor.load())
        workers = max(1, min(self.config.max_workers, len(endpoint_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
            with self.deadline.reserving(self.dispatcher.budget_seconds):
                stored = self._preload(endpoint_ids, pool)
                results = list(pool.map(lambda target: self._check_in_time(target, stored.get(target)), endpoint_ids))
                self.flush_cache()
            outcomes = [result for result in results if result is not None]
            tally = self.dispatcher.dispatch([o.owed for o in outcomes if o.owed is not None], pool)
        tally.suppressed += sum(outcome.suppressed for outcome in outcomes)
        skipped = tuple(
            endpoint_id for endpoint_id, result in zip(endpoint_ids, results, strict=True) if result is None
        )
        # The next sweep starts where this one stopped, so a tail that never fits is still checked.
        self.cursor.save(skipped[0] if skipped else None)
        report = SweepReport(
            checks=tuple(outcome.check for outcome in outcomes),
            skipped=skipped,
            notifications_sent=sum(tally.sent.values()),
            duration_ms=(time.perf_counter() - started) * 1000.0,
            delivery_failures=sum(tally.failed.values()),
            suppressed=tally.suppressed,
        )
        tally.emit()
        _emit_sweep_metrics(report)
        return report

    def _targets(self, targets: Sequence[str] | None) -> list[str]:
        chosen = self.config.watched if targets is None else tuple(targets)
        if chosen is None or tuple(chosen) == ("all",):
            try:
                chosen = tuple(self.list_endpoint_ids())
            except RelayError as exc:
                # Nothing can be checked; failing the invocation lets the scheduler retry, and the
                # missing heartbeat raises the "sweeps stopped" alarm if it persists.
                logger.error(
                    "listing the dedicated endpoints failed", extra={"error_code": exc.code, "why": exc.message}
                )
                raise
        # Keep the order, drop repeats: a duplicated id must not be checked twice at once.
        return list(dict.fromkeys(endpoint_id.strip() for endpoint_id in chosen if endpoint_id.strip()))

    def _preload(self, endpoint_ids: list[str], pool: ThreadPoolExecutor) -> dict[str, PreloadedAlert]:
        if self.preload is None:
            return {}
        valid = [endpoint_id for endpoint_id in endpoint_ids if is_valid_endpoint_id(endpoint_id)]
        batches = [valid[start : start + PRELOAD_BATCH] for start in range(0, len(valid), PRELOAD_BATCH)]
        stored: dict[str, PreloadedAlert] = {}
        for loaded in pool.map(self._preload_batch, batches):
            stored.update(loaded)
        return stored

    def _preload_batch(self, endpoint_ids: list[str]) -> Mapping[str, PreloadedAlert]:
        # Read only what checks may still start for; what is not read, its check reads itself.
        if self.preload is None or not self.deadline.allows(self.config.check_seconds):
            return {}
        try:
            return self.preload(endpoint_ids)
        except RelayError as exc:
            logger.warning("alert state batch read failed; each check reads its own", extra={"error_code": exc.code})
            return {}

    def _check_in_time(self, endpoint_id: str, stored: PreloadedAlert | None = None) -> Recorded | None:
        if not self.deadline.allows(self.config.check_seconds):
            return None  # reported as skipped; the next sweep starts with it
        try:
            return self.check(endpoint_id, stored=stored)
        except DeadlineExceededError:
            return None

    def check(self, endpoint_id: str, *, stored: PreloadedAlert | None = None) -> Recorded:
        if not is_valid_endpoint_id(endpoint_id):
            return _failed(endpoint_id, None, "invalid endpoint id")
        try:
            # A sweep must see Together's current answer, and leaves it in the cache for lookups.
            result = self.lookups.lookup(endpoint_id, force_refresh=True)
        except EndpointNotFoundError:
            return _failed(endpoint_id, None, "endpoint not found")
        except DeadlineExceededError:
            raise
        except RelayError as exc:
            return _failed(endpoint_id, None, f"{exc.code or 'error'}: {exc.message}")
        except Exception:  # one endpoint's surprise must not abort the sweep
            logger.exception("endpoint check failed unexpectedly", extra={"endpoint_id": endpoint_id})
            return _failed(endpoint_id, None, "internal error")
        if result.status is CacheStatus.STALE:
            return _failed(endpoint_id, result.endpoint.state, "Together failed; a stale copy is not evaluated")
        try:
            return self.recorder.record(result.endpoint, stored=stored)
        except DeadlineExceededError:
            raise
        except RelayError as exc:
            return _failed(endpoint_id, result.endpoint.state, f"{exc.code or 'error'}: {exc.message}")


def _rotated(endpoint_ids: list[str], start: str | None) -> list[str]:
    if start is None or start not in endpoint_ids:
        return endpoint_ids
    at = endpoint_ids.index(start)
    return endpoint_ids[at:] + endpoint_ids[:at]


def _failed(endpoint_id: str, state: str | None, error: str) -> Recorded:
    logger.warning("endpoint check failed", extra={"endpoint_id": endpoint_id[:120], "error": error})
    return Recorded(EndpointCheck(endpoint_id, state, (), error=error))


def _emit_sweep_metrics(report: SweepReport) -> None:
    metrics.add_metric(name="SweepDuration", unit=MetricUnit.Milliseconds, value=report.duration_ms)
    count("SweepChecks", len(report.checks))
    count("SweepCheckFailures", len(report.failures))
    count("SweepSkipped", len(report.skipped))  # its alarm fires when two sweeps in a row skip targets
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
