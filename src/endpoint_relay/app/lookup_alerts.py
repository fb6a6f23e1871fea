"""Alerting after a lookup: a real retrieval records the decision and delivers within the request's budget.

An answer served from the cache is only judged: it says nothing new, so it
records nothing. What cannot be delivered in the time the request has left
stays owed, and the next sweep delivers it.
"""

from __future__ import annotations

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.recorder import DecisionRecorder, Recorded
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Finding
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint


class LookupAlerts:
    def __init__(self, *, recorder: DecisionRecorder, dispatcher: NoticeDispatcher) -> None:
        self._recorder = recorder
        self._dispatcher = dispatcher

    def observe(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        return self._dispatch(self._recorder.record(endpoint))

    def observe_v2(self, project_id: str, endpoint: V2Endpoint) -> tuple[Finding, ...]:
        """After a v2 fetch: judged from the deployments the endpoint embeds."""
        return self._dispatch(self._recorder.record_v2(endpoint, project_id))

    def judge(self, endpoint: Endpoint, *, retrieved: bool) -> tuple[Finding, ...]:
        """The findings; only a real retrieval (``retrieved``) is recorded and delivered, as by :meth:`observe`."""
        return self.observe(endpoint) if retrieved else self._recorder.evaluate(endpoint)

    def judge_v2(self, project_id: str, endpoint: V2Endpoint, *, retrieved: bool) -> tuple[Finding, ...]:
        """As :meth:`judge`, for a v2 endpoint."""
        return self.observe_v2(project_id, endpoint) if retrieved else self._recorder.evaluate_v2(endpoint, project_id)

    def _dispatch(self, recorded: Recorded) -> tuple[Finding, ...]:
        tally = self._dispatcher.dispatch([recorded.owed] if recorded.owed else [])
        tally.suppressed += int(recorded.suppressed)
        tally.emit()
        return recorded.check.findings
