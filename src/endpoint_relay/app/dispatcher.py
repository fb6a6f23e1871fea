"""Delivers owed notices exactly once per sink: claim, deliver, settle.

Conditional writes in the store decide who delivers; a failed delivery is given
back and stays owed, so the next sweep (or lookup) tries that sink again. A
notice the sink refuses for good (a rejected payload, a denied topic) is retired
for that sink at the ``MAX_PERMANENT_REFUSALS``-th refusal, loudly: an error log
and the DeliveryAbandoned metric, which has its own alarm.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial

from endpoint_relay.app.delivery import DeliveryRound, Settled, guarded_delivery
from endpoint_relay.app.recorder import Owed
from endpoint_relay.core.alerting import AlertStore, DeliveryError, Notice, Sink
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.observability import count, count_by

logger = logging.getLogger(__name__)


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)
    suppressed: int = 0

    def emit(self) -> None:
        """Metrics for this tally; call on the invoking thread (Powertools' metric set is not thread-safe)."""
        if self.sent:
            count("AlertsSent", sum(self.sent.values()))
        for sink, sent in self.sent.items():
            count_by("AlertsSentBySink", sent, sink=sink)
        if self.failed:
            count("DeliveryFailures", sum(self.failed.values()))
        for (sink, kind), failed in self.failed.items():
            count_by("DeliveryFailuresBySink", failed, sink=sink, kind=kind[:64])
        if self.abandoned:
            count("DeliveryAbandoned", sum(self.abandoned.values()))
        for sink, abandoned in self.abandoned.items():
            count_by("DeliveryAbandonedBySink", abandoned, sink=sink)
        if self.suppressed:
            count("AlertsSuppressed", self.suppressed)


class NoticeDispatcher:
    def __init__(
        self,
        *,
        store: AlertStore | None,
        sinks: Sequence[Sink],
        clock: Callable[[], float],
        deadline: Deadline,
        lease_seconds: float,
        budget_seconds: float,
        settle_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._sinks = tuple(sinks)
        self._clock = clock
        self._deadline = deadline
        self._lease_seconds = lease_seconds
        """How long a claimed delivery is reserved; longer than the slowest delivery attempt."""
        self.budget_seconds = budget_seconds
        """What one round of deliveries may take at worst; less than this left, and the notices stay owed."""
        self._settle_seconds = settle_seconds
        """Kept back from the sinks to record what they did (part of the budget): a sink posting several messages
        must not leave the deliveries it made unrecorded, to be made again once their leases end."""

    @property
    def sink_names(self) -> frozenset[str]:
        return frozenset(sink.name for sink in self._sinks)

    def dispatch(self, owed: Sequence[Owed], pool: Executor | None = None) -> Tally:
        store = self._store
        if store is None or not owed:
            return Tally()
        if not self._deadline.allows(self.budget_seconds):
            logger.warning("too little time left to deliver; the notices stay owed for the next sweep")
            return Tally()
        deliveries = DeliveryRound(store, uuid.uuid4().hex, self._clock, self._lease_seconds, "notice", logger)
        wanted = [(sink, item.notice) for sink in self._sinks for item in owed if sink.name in item.sinks]

        def claim(pair: tuple[Sink, Notice]) -> bool:
            sink, notice = pair
            return deliveries.claim(notice.endpoint_id, sink.name, notice.id, _where(notice))

        won = list(pool.map(claim, wanted)) if pool else [claim(pair) for pair in wanted]
        claimed = [pair for pair, ok in zip(wanted, won, strict=True) if ok]
        by_sink = {sink.name: [notice for s, notice in claimed if s is sink] for sink in self._sinks}
        with self._deadline.reserving(self._settle_seconds):
            answers = list(pool.map(lambda s: _deliver(s, by_sink[s.name]), self._sinks)) if pool else None
            if answers is None:
                answers = [_deliver(sink, by_sink[sink.name]) for sink in self._sinks]
        tally = Tally()
        for sink, results in zip(self._sinks, answers, strict=True):
            for notice in by_sink[sink.name]:
                error = results.get(notice.id, DeliveryError("no answer from sink", kind="internal"))
                settled = deliveries.settle(notice.endpoint_id, sink.name, notice.id, error, _where(notice))
                if settled is Settled.ABANDONED:
                    tally.abandoned[sink.name] += 1
                if error is None:
                    tally.sent[sink.name] += 1
                else:
                    tally.failed[(sink.name, error.kind)] += 1
        return tally


def _where(notice: Notice) -> dict[str, object]:
    return {"endpoint_id": notice.endpoint_id, "notice": notice.kind.value}


def _deliver(sink: Sink, notices: list[Notice]) -> dict[str, DeliveryError | None]:
    if not notices:
        return {}
    ids = [notice.id for notice in notices]
    return guarded_delivery(logger, sink.name, partial(sink.deliver, notices), lambda error: dict.fromkeys(ids, error))
