"""Records what the policy says about an endpoint, once, through conditional writes.

Whoever calls (a lookup, a sweep, a Slack follow-up), only the state store decides
whether a notice is owed, so a burst of lookups of a broken endpoint yields one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from endpoint_relay.core.alerting import (
    DEFAULT_REPEAT_INTERVAL,
    AlertStore,
    AlertStoreError,
    EndpointCheck,
    EndpointSnapshot,
    LifecycleWrite,
    Notice,
    StoredAlert,
    decide,
    state_since,
    still_owed,
)
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Expectations, Finding, PolicyDocument, evaluate

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
    ) -> None:
        self._policy = policy
        self._store = store
        self._sinks = frozenset(sink_names)
        self._clock = clock
        self._repeat_interval = repeat_interval

    def evaluate(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        """The endpoint's findings; reads the store for "stuck" timing, writes nothing, notifies nobody."""
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

    def record(self, endpoint: Endpoint) -> Recorded:
        """Evaluate, and write the lifecycle decision if it changed anything."""
        expected = self._expectations(endpoint.id)
        if self._store is None:
            findings = evaluate(endpoint, expected, now=self._clock())
            return Recorded(EndpointCheck(endpoint.id, endpoint.state, findings))
        try:
            return self._record(endpoint, expected, self._store)
        except AlertStoreError as exc:
            logger.warning("alert state unavailable", extra={"endpoint_id": endpoint.id, "error": exc.message})
            findings = evaluate(endpoint, expected, now=self._clock())
            return Recorded(EndpointCheck(endpoint.id, endpoint.state, findings, error=f"{exc.code}: {exc.message}"))

    def _expectations(self, endpoint_id: str) -> Expectations:
        return self._policy().for_endpoint(endpoint_id)

    def _record(self, endpoint: Endpoint, expected: Expectations, store: AlertStore) -> Recorded:
        snapshot = EndpointSnapshot.of(endpoint, expected)
        for _ in range(MAX_WRITE_ATTEMPTS):
            now = self._clock()
            stored = store.load(endpoint.id)
            previous = stored.state if stored else None
            findings = evaluate(endpoint, expected, state_since=state_since(previous, endpoint.state, now), now=now)
            decision = decide(previous, snapshot, findings, now=now, repeat_interval=self._repeat_interval)
            # An owed notice the decision made untrue (recovered, changed, muted) is dropped with it.
            retract = (
                decision.notice is None
                and stored is not None
                and stored.notice is not None
                and bool(stored.due)
                and not still_owed(stored.notice, decision.state, now)
            )
            write = LifecycleWrite(
                decision.state,
                expected_version=stored.version if stored else 0,
                now=now,
                notice=decision.notice,
                sinks=tuple(sorted(self._sinks)),
                retract=retract,
            )
            if (decision.write or retract) and not store.save(endpoint.id, write):
                continue  # another invocation wrote first: look again, it may already have issued the notice
            muted = decision.state.is_muted(now)
            kind = decision.notice.kind if decision.notice else None
            check = EndpointCheck(endpoint.id, endpoint.state, findings, muted=muted, notice=kind)
            owed = _owed(decision.notice, None if retract else stored, self._sinks)
            return Recorded(check, owed, decision.suppressed is not None)
        raise AlertStoreError("alert state kept changing under this check", param=None)


def _owed(notice: Notice | None, stored: StoredAlert | None, sinks: frozenset[str]) -> Owed | None:
    if notice is not None:
        return Owed(notice, sinks) if sinks else None
    if stored is None or stored.notice is None:
        return None
    due = stored.due & sinks
    return Owed(stored.notice, due) if due else None
