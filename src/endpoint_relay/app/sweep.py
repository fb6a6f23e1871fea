"""Runs a sweep: check the targets concurrently within the time left, then deliver what is owed.

The delivery budget is reserved before any check starts, so a long sweep still
delivers; the order rotates from where the last sweep stopped, so consecutive
sweeps check every target even when one sweep cannot. The targets' alert state
is read first, in batches, so a check costs one Together call and, only when
the endpoint's alert state changes, one conditional write. For "all", v2
endpoints come from their projects' list pages and cost no call of their own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from aws_lambda_powertools.metrics import MetricUnit

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.alert_preload import AlertBatchReader, PreloadedAlert
from endpoint_relay.core.alerting import EndpointCheck, SweepCursor, SweepReport
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.endpoint_ref import EndpointRef, EndpointRefError, parse_endpoint_ref
from endpoint_relay.core.errors import (
    DeadlineExceededError,
    EndpointNotFoundError,
    RelayError,
    V1RetiredError,
)
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_request import endpoint_request
from endpoint_relay.core.v2_resources import V2Source, v2_resource
from endpoint_relay.observability import count, metrics

logger = logging.getLogger(__name__)

PRELOAD_BATCH = 100
"""Targets whose alert state one preload call reads (BatchGetItem's limit); the calls run side by side."""


class V1Retirement:
    """Whether Together has said v1 is gone; said once per container, then v1 is left alone."""

    def __init__(self) -> None:
        self._retired = threading.Event()

    @property
    def retired(self) -> bool:
        return self._retired.is_set()

    def note(self, exc: V1RetiredError) -> None:
        if not self._retired.is_set():
            self._retired.set()
            logger.warning("Together's v1 endpoint API is retired; sweeping v2 alone", extra={"why": exc.message})


@dataclass(frozen=True, slots=True)
class SweepConfig:
    watched: tuple[str, ...] | None = None
    """What a sweep checks when given no targets (``endpoint-…``, ``ep_…``, ``proj_…/ep_…``); None means all."""
    default_project: str | None = None
    """The project a bare ``ep_…`` target belongs to."""
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
    list_v2: Callable[[], Mapping[str, Listed]] = dict
    """Every v2 endpoint of the relay's projects by alert key, for "all" (list pages, which fill the cache)."""
    v2_source: V2Source | None = None
    """Fetches a watched v2 endpoint that no list brought; without it such a target fails its check."""
    v1: V1Retirement = field(default_factory=V1Retirement)
    """A function builds its runner once per container, so v1's retirement is logged once there, not per sweep."""

    def run(self, targets: Sequence[str] | None = None) -> SweepReport:
        """Check endpoints and deliver what is owed; per-endpoint failures are reported, not raised."""
        started = time.perf_counter()
        chosen, listed = self._targets(targets)
        endpoint_ids = _rotated(chosen, self.cursor.load())
        workers = max(1, min(self.config.max_workers, len(endpoint_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
            with self.deadline.reserving(self.dispatcher.budget_seconds):
                stored = self._preload(endpoint_ids, pool)
                results = list(
                    pool.map(
                        lambda target: self._check_in_time(target, stored.get(target), listed.get(target)),
                        endpoint_ids,
                    )
                )
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

    def _targets(self, targets: Sequence[str] | None) -> tuple[list[str], Mapping[str, Listed]]:
        """The targets' keys in order, and the v2 endpoints a list already brought (for "all")."""
        chosen = self.config.watched if targets is None else tuple(targets)
        listed: Mapping[str, Listed] = {}
        if chosen is None or tuple(chosen) == ("all",):
            try:
                listed = self.list_v2()
                chosen = (*self._v1_ids(), *listed)
            except RelayError as exc:
                # Nothing can be checked; failing the invocation lets the scheduler retry, and the
                # missing heartbeat raises the "sweeps stopped" alarm if it persists.
                logger.error(
                    "listing the dedicated endpoints failed", extra={"error_code": exc.code, "why": exc.message}
                )
                raise
        # Keep the order, drop repeats: a duplicated id must not be checked twice at once.
        keys = (self._key(target.strip()) for target in chosen if target.strip())
        return list(dict.fromkeys(keys)), listed

    def _v1_ids(self) -> Sequence[str]:
        if self.v1.retired:
            return ()
        try:
            return self.list_endpoint_ids()
        except V1RetiredError as exc:
            self.v1.note(exc)
            return ()

    def _key(self, target: str) -> str:
        """``ep_…`` as ``proj_…/ep_…`` (one alert key, one check); other text as given."""
        try:
            return parse_endpoint_ref(target, self.config.default_project).key
        except EndpointRefError:
            return target  # its check reports it as invalid

    def _preload(self, endpoint_ids: list[str], pool: ThreadPoolExecutor) -> dict[str, PreloadedAlert]:
        if self.preload is None:
            return {}
        valid = [endpoint_id for endpoint_id in endpoint_ids if _alert_ref(endpoint_id) is not None]
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

    def _check_in_time(
        self, endpoint_id: str, stored: PreloadedAlert | None = None, listed: Listed | None = None
    ) -> Recorded | None:
        if not self.deadline.allows(self.config.check_seconds):
            return None  # reported as skipped; the next sweep starts with it
        try:
            return self.check(endpoint_id, stored=stored, listed=listed)
        except DeadlineExceededError:
            return None

    def check(
        self, endpoint_id: str, *, stored: PreloadedAlert | None = None, listed: Listed | None = None
    ) -> Recorded:
        """One target: a v1 id, or a v2 ``proj_…/ep_…`` key (from ``listed`` when a list brought it)."""
        ref = _alert_ref(self._key(endpoint_id))
        if ref is None:
            return _failed(endpoint_id, None, "invalid endpoint id")
        if ref.is_v2:
            return self._check_v2(ref, stored, listed)
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

    def _check_v2(self, ref: EndpointRef, stored: PreloadedAlert | None, listed: Listed | None) -> Recorded:
        key, project_id = ref.key, cast(str, ref.project_id)
        if listed is not None:
            endpoint = listed.endpoint
        elif self.v2_source is None:
            return _failed(key, None, "v2 endpoints are not swept by this function")
        else:
            try:
                # As v1: Together's current answer, left in the cache for lookups.
                request = endpoint_request(project_id, ref.endpoint_id)
                result = self.lookups.fetch(v2_resource(self.v2_source, request), force_refresh=True)
            except EndpointNotFoundError:
                return _failed(key, None, "endpoint not found")
            except DeadlineExceededError:
                raise
            except RelayError as exc:
                return _failed(key, None, f"{exc.code or 'error'}: {exc.message}")
            except Exception:  # one endpoint's surprise must not abort the sweep
                logger.exception("endpoint check failed unexpectedly", extra={"endpoint_id": key})
                return _failed(key, None, "internal error")
            if result.status is CacheStatus.STALE:
                return _failed(key, None, "Together failed; a stale copy is not evaluated")
            endpoint = cast(V2Endpoint, result.value)
        try:
            return self.recorder.record_v2(endpoint, project_id, stored=stored)
        except DeadlineExceededError:
            raise
        except RelayError as exc:
            return _failed(key, None, f"{exc.code or 'error'}: {exc.message}")


def _alert_ref(key: str) -> EndpointRef | None:
    """The endpoint an alert key names: a v1 id or ``proj_…/ep_…``; None for anything else."""
    try:
        ref = parse_endpoint_ref(key, default_project=None)
    except EndpointRefError:
        return None
    return None if ref.is_v2 and ref.project_id is None else ref


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
