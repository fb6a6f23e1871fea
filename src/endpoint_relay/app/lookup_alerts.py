"""Alerting after a lookup's real retrieval: record the decision, deliver within the request's budget.

What cannot be delivered in the time the request has left stays owed, and the
next sweep delivers it.
"""

from __future__ import annotations

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Finding


class LookupAlerts:
    def __init__(self, *, recorder: DecisionRecorder, dispatcher: NoticeDispatcher) -> None:
        self._recorder = recorder
        self._dispatcher = dispatcher

    def observe(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        recorded = self._recorder.record(endpoint)
        tally = self._dispatcher.dispatch([recorded.owed] if recorded.owed else [])
        tally.suppressed += int(recorded.suppressed)
        tally.emit()
        return recorded.check.findings
