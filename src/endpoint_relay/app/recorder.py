"""Records what the policy says about an endpoint, once, through conditional writes.

Whoever calls (a lookup, a sweep, a Slack follow-up), only the state store decides
whether a notice is owed, so a burst of lookups of a broken endpoint yields one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from endpoint_relay.app.reasons import EventReasons
from endpoint_relay.app.subjects import Moment, Subject, V1Subject, V2Subject
from endpoint_relay.core.alert_preload import NO_STORED_ALERT, PreloadedAlert
from endpoint_relay.core.alerting import (
    DEFAULT_REPEAT_INTERVAL,
    AlertStore,
    AlertStoreError,
    EndpointCheck,
    LifecycleWrite,
    Notice,
    StoredAlert,
    decide,
    state_since,
    still_owed,
)
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Expectations, Finding, PolicyDocument
from endpoint_relay.core.prices import Prices
from endpoint_relay.core.v2_models import Deployment
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint

logger = logging.getLogger(__name__)

MAX_WRITE_ATTEMPTS = 4
"""Lost conditional writes before giving up on one endpoint in one pass (each loss means progress elsewhere)."""


@dataclass(frozen=True)
class Owed:
    notice: Notice
    sinks: frozenset[str]
    """The sinks that still owe ``notice``."""


@dataclass(frozen=True)
class Recorded:
    check: EndpointCheck
    owed: Owed | None = None
    """What is still owed for this endpoint (while muted, only a mute's announcement); None when nothing is."""
    suppressed: bool = False


class DecisionRecorder:
    def __init__(
        self,
        *,
        policy: Callable[[], PolicyDocument],
        store: AlertStore | None,
        sink_names: Iterable[str],
        clock: Callable[[], float],
        repeat_interval: float = DEFAULT_REPEAT_INTERVAL,
        reasons: EventReasons | None = None,
        default_project: str | None = None,
        prices: Prices | None = None,
    ) -> None:
        self._policy = policy
        self._prices = prices
        """Prices each notice as it is issued; None: every price unknown."""
        self._store = store
        self._sinks = frozenset(sink_names)
        self._clock = clock
        self._repeat_interval = repeat_interval
        self._reasons = reasons
        """Reads the events feed when a v2 deployment starts firing; None: v2 notices carry no reason."""
        self._default_project = default_project
        """The project a policy key of a bare ``ep_…`` means."""

    def evaluate(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        """The endpoint's findings; reads the store for "stuck" timing, writes nothing, notifies nobody."""
        return self._evaluate(self._v1(endpoint))

    def evaluate_v2(
        self, endpoint: V2Endpoint, project_id: str, *, deployments: Sequence[Deployment] | None = None
    ) -> tuple[Finding, ...]:
        """As :meth:`evaluate`, for a v2 endpoint (``deployments``: the full list, when fetched)."""
        return self._evaluate(self._v2(endpoint, project_id, deployments))

    def record(self, endpoint: Endpoint, *, stored: PreloadedAlert | None = None) -> Recorded:
        """Evaluate, and write the lifecycle decision if it changed anything.

        ``stored`` is the endpoint's state if the caller read it already (a sweep's batch read), saving one
        read; if it is out of date, the conditional write fails and the state is read afresh.
        """
        return self._record_subject(self._v1(endpoint), stored)

    def record_v2(
        self,
        endpoint: V2Endpoint,
        project_id: str,
        *,
        deployments: Sequence[Deployment] | None = None,
        stored: PreloadedAlert | None = None,
        idle: tuple[Finding, ...] | None = None,
    ) -> Recorded:
        """As :meth:`record`, for a v2 endpoint; its alert state is kept under ``proj_…/ep_…``.

        ``idle`` is a sweep's idle-spend verdict; without one (a lookup), the stored idle findings carry on.
        """
        return self._record_subject(self._v2(endpoint, project_id, deployments, idle), stored)

    def expected_v2(self, project_id: str, endpoint_id: str) -> Expectations:
        """What the policy expects of a v2 endpoint."""
        return self._policy().for_v2(project_id, endpoint_id, default_project=self._default_project)

    def _v1(self, endpoint: Endpoint) -> V1Subject:
        return V1Subject(endpoint, self._policy().for_endpoint(endpoint.id), self._prices)

    def _v2(
        self,
        endpoint: V2Endpoint,
        project_id: str,
        deployments: Sequence[Deployment] | None,
        idle: tuple[Finding, ...] | None = None,
    ) -> V2Subject:
        expected = self.expected_v2(project_id, endpoint.id)
        return V2Subject(endpoint, project_id, deployments, expected, self._reasons, self._prices, idle)

    def _evaluate(self, subject: Subject) -> tuple[Finding, ...]:
        now = self._clock()
        stored = None
        if self._store is not None:
            try:
                stored = self._store.load(subject.key)
            except AlertStoreError:
                logger.warning("alert state unavailable; evaluating without it", extra={"endpoint_id": subject.key})
        if stored is None:
            return subject.findings(Moment(now))
        since = state_since(stored.state, subject.tracked_state, now)
        return subject.findings(Moment(now, since, subject.clocks(stored.state, since, now), stored.state))

    def _record_subject(self, subject: Subject, stored: PreloadedAlert | None) -> Recorded:
        if self._store is None:
            findings = subject.findings(Moment(self._clock()))
            return Recorded(EndpointCheck(subject.key, subject.shown_state, findings))
        try:
            return self._record(subject, self._store, stored)
        except AlertStoreError as exc:
            logger.warning("alert state unavailable", extra={"endpoint_id": subject.key, "error": exc.message})
            findings = subject.findings(Moment(self._clock()))
            error = f"{exc.code}: {exc.message}"
            return Recorded(EndpointCheck(subject.key, subject.shown_state, findings, error=error))

    def _record(self, subject: Subject, store: AlertStore, preloaded: PreloadedAlert | None) -> Recorded:
        for _ in range(MAX_WRITE_ATTEMPTS):
            now = self._clock()
            if preloaded is None:
                stored = store.load(subject.key)
            else:
                stored = None if preloaded is NO_STORED_ALERT else preloaded
                preloaded = None  # only for the first attempt: after a lost write, look again
            previous = stored.state if stored else None
            since = state_since(previous, subject.tracked_state, now)
            clocks = subject.clocks(previous, since, now)
            findings = subject.findings(Moment(now, since, clocks, previous))
            snapshot = subject.snapshot(findings)
            decision = decide(
                previous,
                snapshot,
                findings,
                now=now,
                repeat_interval=self._repeat_interval,
                tracked_state=subject.tracked_state,
                clocks=clocks,
            )
            notice = subject.explained(decision.notice, stored) if decision.notice else None
            # An owed notice the decision made untrue (recovered, changed, muted) is dropped with it.
            retract = (
                notice is None
                and stored is not None
                and stored.notice is not None
                and bool(stored.due)
                and not still_owed(stored.notice, decision.state, now)
            )
            write = LifecycleWrite(
                decision.state,
                expected_version=stored.version if stored else 0,
                now=now,
                notice=notice,
                sinks=tuple(sorted(self._sinks)),
                retract=retract,
            )
            if (decision.write or retract) and not store.save(subject.key, write):
                continue  # another invocation wrote first: look again, it may already have issued the notice
            muted = decision.state.is_muted(now)
            kind = notice.kind if notice else None
            check = EndpointCheck(subject.key, subject.shown_state, findings, muted=muted, notice=kind)
            owed = _owed(notice, None if retract else stored, self._sinks)
            return Recorded(check, owed, decision.suppressed is not None)
        raise AlertStoreError("alert state kept changing under this check", param=None)


def _owed(notice: Notice | None, stored: StoredAlert | None, sinks: frozenset[str]) -> Owed | None:
    if notice is not None:
        return Owed(notice, sinks) if sinks else None
    if stored is None or stored.notice is None:
        return None
    due = stored.due & sinks
    return Owed(stored.notice, due) if due else None
