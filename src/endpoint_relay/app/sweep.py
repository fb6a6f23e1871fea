"""Runs a sweep: check the targets concurrently within the time left, then deliver what is owed.

The delivery budget is reserved before any check starts, so a long sweep still
delivers; the order rotates from where the last sweep stopped, so consecutive
sweeps check every target even when one sweep cannot. Target resolution, the
alert-state preload, the checks and the metrics live in the ``sweep_*`` modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.idle_spend import IdleSpend
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.app.sweep_checks import check_v1, check_v2, failed
from endpoint_relay.app.sweep_metrics import emit_sweep_metrics
from endpoint_relay.app.sweep_preload import preload_alerts
from endpoint_relay.app.sweep_targets import V1Retirement, alert_ref, rotated, sweep_targets, target_key, v1_ids
from endpoint_relay.app.v2_listing import Listed
from endpoint_relay.core.alert_preload import AlertBatchReader, PreloadedAlert
from endpoint_relay.core.alerting import SweepCursor, SweepReport
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import DeadlineExceededError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.v2_resources import V2Source


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
    idle: IdleSpend | None = None
    """Judges idle spend from analytics (v2 only); without it no sweep reads analytics."""
    v1: V1Retirement = field(default_factory=V1Retirement)
    """A function builds its runner once per container, so v1's retirement is logged once there, not per sweep."""

    def run(self, targets: Sequence[str] | None = None) -> SweepReport:
        """Check endpoints and deliver what is owed; per-endpoint failures are reported, not raised."""
        started = time.perf_counter()
        chosen, listed = sweep_targets(
            self.config.watched if targets is None else tuple(targets),
            default_project=self.config.default_project,
            list_v1_ids=lambda: v1_ids(self.list_endpoint_ids, self.v1),
            list_v2=self.list_v2,
        )
        endpoint_ids = rotated(chosen, self.cursor.load())
        workers = max(1, min(self.config.max_workers, len(endpoint_ids)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
            with self.deadline.reserving(self.dispatcher.budget_seconds):
                stored = preload_alerts(
                    self.preload, endpoint_ids, pool, deadline=self.deadline, check_seconds=self.config.check_seconds
                )
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
        emit_sweep_metrics(report)
        return report

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
        ref = alert_ref(target_key(endpoint_id, self.config.default_project))
        if ref is None:
            return failed(endpoint_id, None, "invalid endpoint id")
        if ref.is_v2:
            return check_v2(self.lookups, self.recorder, self.v2_source, ref, stored, listed, self.idle)
        return check_v1(self.lookups, self.recorder, endpoint_id, stored)
