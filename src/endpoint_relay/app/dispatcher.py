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

from endpoint_relay.app.recorder import Owed
from endpoint_relay.core.alerting import (
    MAX_PERMANENT_REFUSALS,
    AlertStore,
    AlertStoreError,
    DeliveryError,
    Notice,
    Sink,
)
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
    ) -> None:
        self._store = store
        self._sinks = tuple(sinks)
        self._clock = clock
        self._deadline = deadline
        self._lease_seconds = lease_seconds
        """How long a claimed delivery is reserved; longer than the slowest delivery attempt."""
        self.budget_seconds = budget_seconds
        """What one round of deliveries may take at worst; less than this left, and the notices stay owed."""

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
        owner = uuid.uuid4().hex
        wanted = [(sink, item.notice) for sink in self._sinks for item in owed if sink.name in item.sinks]

        def claim(pair: tuple[Sink, Notice]) -> bool:
            sink, notice = pair
            try:
                return store.claim(
                    notice.endpoint_id, sink.name, notice.id, owner=owner, now=self._clock(), lease=self._lease_seconds
                )
            except AlertStoreError:
                logger.warning("could not claim a delivery", extra={"endpoint_id": notice.endpoint_id})
                return False

        won = list(pool.map(claim, wanted)) if pool else [claim(pair) for pair in wanted]
        claimed = [pair for pair, ok in zip(wanted, won, strict=True) if ok]
        by_sink = {sink.name: [notice for s, notice in claimed if s is sink] for sink in self._sinks}
        answers = list(pool.map(lambda s: _deliver(s, by_sink[s.name]), self._sinks)) if pool else None
        if answers is None:
            answers = [_deliver(sink, by_sink[sink.name]) for sink in self._sinks]
        tally = Tally()
        for sink, results in zip(self._sinks, answers, strict=True):
            for notice in by_sink[sink.name]:
                error = results.get(notice.id, DeliveryError("no answer from sink", kind="internal"))
                if self._settle(store, sink.name, notice, error, owner):
                    tally.abandoned[sink.name] += 1
                if error is None:
                    tally.sent[sink.name] += 1
                else:
                    tally.failed[(sink.name, error.kind)] += 1
        return tally

    def _settle(self, store: AlertStore, sink: str, notice: Notice, error: DeliveryError | None, owner: str) -> bool:
        """Record the outcome; True when the notice was retired for this sink."""
        where = {"endpoint_id": notice.endpoint_id, "sink": sink, "notice": notice.kind.value}
        try:
            if error is None:
                store.mark_delivered(notice.endpoint_id, sink, notice.id, owner=owner, now=self._clock())
                return False
            logger.warning(
                "notice not delivered; it stays owed",
                extra={**where, "error_kind": error.kind, "permanent": error.permanent},
            )
            if not store.release(notice.endpoint_id, sink, notice.id, owner=owner, permanent=error.permanent):
                return False
        except AlertStoreError:
            logger.error(
                "could not record a delivery outcome; the lease expires and the notice may be resent",
                extra={"endpoint_id": notice.endpoint_id, "sink": sink},
            )
            return False
        logger.error(
            "notice abandoned: the sink refused it for good, every time; fix the sink's configuration",
            extra={**where, "error_kind": error.kind, "refusals": MAX_PERMANENT_REFUSALS},
        )
        return True


def _deliver(sink: Sink, notices: list[Notice]) -> dict[str, DeliveryError | None]:
    if not notices:
        return {}
    try:
        return sink.deliver(notices)
    except Exception:  # a sink's bug must not lose the other sink's deliveries
        logger.exception("sink failed unexpectedly", extra={"sink": sink.name})
        return dict.fromkeys((n.id for n in notices), DeliveryError("sink failed", kind="internal"))
