"""The fleet's spend, built from the v2 list pages, the v1 endpoints and the alert table; cached for a minute.

Every deployment holding ready replicas in the relay's projects is one line, and
every v1 endpoint that is not stopped is another. A source that cannot be read
(a project, or v1) is named in ``Fleet.unreadable`` instead of failing the view;
only when no source at all can be read does the view fail. A retired v1 API is
simply absent: it holds nothing any more.

The result is kept in this process for ``ttl`` seconds, behind a lock, so a
burst of requests (Slack, internal dashboards polling) costs one build. A
local cache is enough: a burst lands on warm containers, a minute-old spend is
as good as a fresh one, and the alert column would make a longer-lived,
cross-container copy misleading.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from endpoint_relay.app.sweep_targets import V1Retirement, v1_ids
from endpoint_relay.core.alert_preload import NO_STORED_ALERT, AlertBatchReader, PreloadedAlert
from endpoint_relay.core.alerting import AlertStatus
from endpoint_relay.core.cache import CacheStatus
from endpoint_relay.core.cost import deployment_spend, v1_spend
from endpoint_relay.core.errors import NotFoundError, RelayError
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.policy import utc_text
from endpoint_relay.core.prices import Prices
from endpoint_relay.core.v2_models import Endpoint

logger = logging.getLogger(__name__)

FLEET_TTL_SECONDS = 60
"""How long one build answers: the spend moves by the replica-hour, and a minute keeps the alert column current."""
V1_SOURCE = "v1"


@dataclass(frozen=True, slots=True)
class FleetAnswer:
    fleet: Fleet
    status: CacheStatus
    age: int
    max_age: int


@dataclass(frozen=True, slots=True)
class FleetSources:
    """Where the lines come from; each callable raises what its upstream call raises."""

    projects: Sequence[str]
    list_project: Callable[[str], Iterable[Endpoint]]
    """Every endpoint of one project, with its embedded deployment summaries (paged by the caller)."""
    list_v1_ids: Callable[[], Sequence[str]]
    read_v1: Callable[[str], V1Endpoint]
    """One v1 endpoint through the lookup tiers."""
    v1: V1Retirement
    alerts: AlertBatchReader | None
    """None without an alert table: every line's alert is then ``unknown``."""


class FleetView:
    def __init__(
        self,
        sources: FleetSources,
        prices: Prices,
        *,
        ttl: float = FLEET_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sources = sources
        self._prices = prices
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._built: tuple[float, Fleet] | None = None

    def fleet(self) -> Fleet:
        """The fleet, from a build at most ``ttl`` seconds old."""
        return self.answer().fleet

    def answer(self, *, force_refresh: bool = False) -> FleetAnswer:
        """The fleet with its cache status and age; raises the first source's error when none can be read."""
        with self._lock:  # concurrent callers wait for one build rather than each making their own
            now = self._clock()
            if not force_refresh and self._built is not None and now - self._built[0] < self._ttl:
                built_at, fleet = self._built
                return FleetAnswer(fleet, CacheStatus.HIT, int(now - built_at), int(self._ttl - (now - built_at)))
            fleet = self._build(now)
            self._built = (now, fleet)
            status = CacheStatus.REFRESH if force_refresh else CacheStatus.MISS
            return FleetAnswer(fleet, status, 0, int(self._ttl))

    def _build(self, now: float) -> Fleet:
        pending: list[tuple[FleetLine, str | None]] = []  # each line with the deployment its findings are about
        unreadable: list[str] = []
        failures: list[RelayError] = []
        for project_id in sorted(self._sources.projects):
            try:
                pending.extend(self._project_lines(project_id))
            except RelayError as exc:
                logger.warning("a project's endpoints could not be listed", extra={"project_id": project_id})
                unreadable.append(project_id)
                failures.append(exc)
        try:
            pending.extend((line, None) for line in self._v1_lines())
        except RelayError as exc:
            logger.warning("the v1 endpoints could not be read", extra={"error_code": exc.code})
            unreadable.append(V1_SOURCE)
            failures.append(exc)
        sources = len(self._sources.projects) + (0 if self._sources.v1.retired else 1)
        if failures and len(failures) >= sources:
            raise failures[0]  # nothing could be read: an empty fleet would claim it costs nothing
        lines = self._with_alerts(pending, now)
        return Fleet.of(lines, utc_text(now), unreadable)

    def _project_lines(self, project_id: str) -> list[tuple[FleetLine, str | None]]:
        lines: list[tuple[FleetLine, str | None]] = []
        for endpoint in self._sources.list_project(project_id):
            for deployment in endpoint.deployments:
                if not deployment.ready_replicas:
                    continue
                price = self._prices.cents_per_hour(deployment.hardware)
                line = FleetLine(
                    key=f"{project_id}/{endpoint.id}",
                    endpoint_id=endpoint.id,
                    project_id=project_id,
                    deployment_id=deployment.id,
                    name=endpoint.name or endpoint.id,
                    state=deployment.state,
                    spend=deployment_spend(deployment, price),
                    alert="unknown",
                )
                lines.append((line, deployment.id))
        return lines

    def _v1_lines(self) -> list[FleetLine]:
        ids = v1_ids(self._sources.list_v1_ids, self._sources.v1)  # only the list tells v1's retirement
        endpoints = [endpoint for endpoint_id in ids if (endpoint := self._read_v1(endpoint_id)) is not None]
        lines = []
        for endpoint in endpoints:
            spend = v1_spend(endpoint, self._prices.cents_per_hour(endpoint.hardware or None, v1=True))
            if spend.replicas > 0:
                lines.append(
                    FleetLine(
                        key=endpoint.id,
                        endpoint_id=endpoint.id,
                        project_id=None,
                        deployment_id=None,
                        name=endpoint.display_name or endpoint.name or endpoint.id,
                        state=endpoint.state,
                        spend=spend,
                        alert="unknown",
                    )
                )
        return lines

    def _read_v1(self, endpoint_id: str) -> V1Endpoint | None:
        try:
            return self._sources.read_v1(endpoint_id)
        except NotFoundError:
            return None  # deleted since it was listed: it bills nothing

    def _with_alerts(self, pending: list[tuple[FleetLine, str | None]], now: float) -> list[FleetLine]:
        stored = self._stored_alerts(sorted({line.key for line, _ in pending}))
        return [_alerted(line, subject, stored, now) for line, subject in pending]

    def _stored_alerts(self, keys: list[str]) -> Mapping[str, PreloadedAlert]:
        if self._sources.alerts is None or not keys:
            return {}
        try:
            return self._sources.alerts(keys)
        except RelayError as exc:
            logger.warning("the alert table could not be read for the fleet view", extra={"error_code": exc.code})
            return {}


def _alerted(line: FleetLine, subject: str | None, stored: Mapping[str, PreloadedAlert], now: float) -> FleetLine:
    """The line with its alert status: findings about its deployment (or the whole endpoint) make it fire."""
    found = stored.get(line.key)
    if found is None:
        return line  # not read: unknown
    if found is NO_STORED_ALERT:
        return replace(line, alert="ok", findings=())
    state = found.state
    kinds = tuple(dict.fromkeys(f.kind for f in state.findings if f.subject is None or f.subject == subject))
    if state.is_muted(now):
        return replace(line, alert="muted", findings=kinds)
    firing = state.status is AlertStatus.FIRING and bool(kinds)
    return replace(line, alert="firing" if firing else "ok", findings=kinds)
