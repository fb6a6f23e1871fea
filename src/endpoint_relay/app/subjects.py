"""What the recorder judges: a v1 endpoint, or a v2 endpoint with its deployments, behind one interface.

The recorder's optimistic-write loop is the same for both; only these differ:
the alert-state key, the state whose changes start the "stuck" clocks (v2: per deployment), the
policy, the snapshot a notice freezes, and (v2) the events feed's reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple, Protocol

from endpoint_relay.app.reasons import EventReasons
from endpoint_relay.core.alerting import AlertState, EndpointSnapshot, Notice, NoticeKind, StoredAlert
from endpoint_relay.core.deployment_clocks import Clocks, carry_clocks
from endpoint_relay.core.endpoint_ref import v2_key
from endpoint_relay.core.idle import carried, merged
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.notice_cost import priced
from endpoint_relay.core.policy import Expectations, Finding, evaluate
from endpoint_relay.core.policy_v2 import candidates, evaluate_v2, tracked_state
from endpoint_relay.core.prices import FixedPrices, Prices
from endpoint_relay.core.v1_view import primary_deployment
from endpoint_relay.core.v2_models import Deployment
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_notice import ReasonLine


class Moment(NamedTuple):
    """When a subject is judged: ``now``, and what the stored state tells (nothing without one)."""

    now: float
    state_since: float | None = None
    clocks: Clocks | None = None
    previous: AlertState | None = None


class Subject(Protocol):
    @property
    def key(self) -> str:
        """The alert-state key (``proj_…/ep_…`` for v2, so it never meets a v1 id)."""
        ...

    @property
    def tracked_state(self) -> str:
        """What the store remembers as the state; any change restarts the "stuck" clocks."""
        ...

    @property
    def shown_state(self) -> str:
        """The state a check reports."""
        ...

    def clocks(self, previous: AlertState | None, state_since: float, now: float) -> Clocks | None:
        """The per-deployment clocks carried forward from ``previous`` (v1: none)."""
        ...

    def findings(self, moment: Moment) -> tuple[Finding, ...]:
        """The findings at ``moment``; its stored state carries forward what only a sweep can tell."""
        ...

    def snapshot(self, findings: Sequence[Finding]) -> EndpointSnapshot: ...

    def explained(self, notice: Notice, stored: StoredAlert | None) -> Notice:
        """The notice, as it is issued, with what it costs and whatever explains it added."""
        ...


class V1Subject:
    def __init__(self, endpoint: Endpoint, expected: Expectations, prices: Prices | None = None) -> None:
        self._endpoint = endpoint
        self._expected = expected
        self._prices = prices or FixedPrices()
        self.key = endpoint.id
        self.tracked_state = self.shown_state = endpoint.state

    def clocks(self, previous: AlertState | None, state_since: float, now: float) -> Clocks | None:
        return None

    def findings(self, moment: Moment) -> tuple[Finding, ...]:
        return evaluate(self._endpoint, self._expected, state_since=moment.state_since, now=moment.now)

    def snapshot(self, findings: Sequence[Finding]) -> EndpointSnapshot:
        return EndpointSnapshot.of(self._endpoint, self._expected)

    def explained(self, notice: Notice, stored: StoredAlert | None) -> Notice:
        # Priced only here, when a notice is issued: a check that fires nothing never reads a catalogue.
        return (
            notice if notice.kind.is_announcement else replace(notice, endpoint=priced(notice.endpoint, self._prices))
        )


class V2Subject:
    def __init__(
        self,
        endpoint: V2Endpoint,
        project_id: str,
        deployments: Sequence[Deployment] | None,
        expected: Expectations,
        reasons: EventReasons | None,
        prices: Prices | None = None,
        idle: tuple[Finding, ...] | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._prices = prices or FixedPrices()
        self._idle = idle
        """A sweep's idle findings (maybe none); ``None`` when no analytics were read: the stored ones carry on."""
        self._project_id = project_id
        self._deployments = deployments
        self._expected = expected
        self._reasons = reasons
        self._read: tuple[ReasonLine, ...] | None = None
        """The feed is read at most once per record, whatever the write loop retries."""
        self.key = v2_key(project_id, endpoint.id)
        self.tracked_state = tracked_state(endpoint, deployments)
        primary = primary_deployment(endpoint, candidates(endpoint, deployments))
        self.shown_state = primary.state if primary else "no deployments"

    def clocks(self, previous: AlertState | None, state_since: float, now: float) -> Clocks | None:
        every = candidates(self._endpoint, self._deployments)
        return carry_clocks(every, previous.clocks if previous else (), fallback=state_since, now=now)

    def findings(self, moment: Moment) -> tuple[Finding, ...]:
        findings = evaluate_v2(
            self._endpoint,
            self._deployments,
            self._expected,
            state_since=moment.state_since,
            now=moment.now,
            clocks=moment.clocks,
        )
        idle = self._idle
        if idle is None:
            every = candidates(self._endpoint, self._deployments)
            earlier = moment.previous.findings if moment.previous else ()
            idle = carried(earlier, every, self._expected.idle_after_hours)
        return merged(findings, idle) if idle else findings

    def snapshot(self, findings: Sequence[Finding]) -> EndpointSnapshot:
        return EndpointSnapshot.of_v2(self._endpoint, self._project_id, self._deployments, self._expected, findings)

    def explained(self, notice: Notice, stored: StoredAlert | None) -> Notice:
        """Priced; a deployment that starts firing is explained from the feed; later notices repeat the last reason."""
        if notice.kind.is_announcement:
            return notice
        notice = replace(notice, endpoint=priced(notice.endpoint, self._prices))
        if notice.kind is NoticeKind.RESOLVED:
            return notice
        firing = {finding.subject or "" for finding in notice.findings}
        before = {finding.subject or "" for finding in stored.state.findings} if stored else set()
        reason: tuple[ReasonLine, ...] = ()
        if notice.kind is NoticeKind.FIRING or not firing <= before:
            reason = self._read_feed(firing - {""}, notice.created_at)
        elif stored is not None and stored.notice is not None and stored.notice.endpoint_id == self.key:
            reason = stored.notice.endpoint.reason
        if not reason:
            return notice
        return replace(notice, endpoint=replace(notice.endpoint, reason=reason))

    def _read_feed(self, deployment_ids: set[str], seen_at: float) -> tuple[ReasonLine, ...]:
        if self._reasons is None:
            return ()
        if self._read is None:
            self._read = self._reasons.explain(self._project_id, self._endpoint.id, deployment_ids, seen_at=seen_at)
        return self._read
