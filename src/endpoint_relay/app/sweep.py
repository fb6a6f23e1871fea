"""Runs a sweep: check the targets concurrently within the time left, then deliver what is owed.

The delivery budget is reserved before any check starts, so a long sweep still
delivers; the order rotates from where the last sweep stopped, so consecutive
sweeps check every target even when one sweep cannot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.core.alerting import EndpointCheck, SweepCursor, SweepReport
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.endpoint_id import is_valid_endpoint_id
from endpoint_relay.core.errors import DeadlineExceededError, EndpointNotFoundError, RelayError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.observability import count, metrics

logger = logging.getLogger(__name__)


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

    def run(self, targets: Sequence[str] | None = None) -> SweepReport:
        """Check endpoints and deliver what is owed; per-endpoint failures are reported, not raised."""
        started = time.perf_counter()
        endpoint_ids = _rotated(self._targets(targets), self.cursor.load())
        workers = max(1, min(self.config.max_workers, len(endpoint_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
            with self.deadline.reserving(self.dispatcher.budget_seconds):
                results = list(pool.map(self._check_in_time, endpoint_ids))
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

    def _check_in_time(self, endpoint_id: str) -> Recorded | None:
        if not self.deadline.allows(self.config.check_seconds):
            return None  # reported as skipped; the next sweep starts with it
        try:
            return self.check(endpoint_id)
        except DeadlineExceededError:
            return None

    def check(self, endpoint_id: str) -> Recorded:
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
            return self.recorder.record(result.endpoint)
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
