"""The daily digest: built once per UTC date, posted once per sink, a failed sink retried until it posts.

The date is the de-duplication key. The first invocation of the day stores the
digest with one owed flag per sink (a conditional write), so a duplicate
EventBridge delivery finds it and posts nothing twice; a sink that failed keeps
its flag, and :meth:`DailyDigest.retry_owed` (run after each sweep) sends it the
stored digest later, without touching the sinks that already posted it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol, runtime_checkable

from endpoint_relay.app.delivery import DeliveryRound, DeliveryStore, Settled, guarded_delivery
from endpoint_relay.app.dispatcher import Tally
from endpoint_relay.core.alerting import AlertStoreError, DeliveryError
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.digest import Digest, OpenAlert
from endpoint_relay.core.errors import DeadlineExceededError
from endpoint_relay.core.fleet import FleetSource

logger = logging.getLogger(__name__)


class OpenAlerts(Protocol):
    def open_alerts(self) -> Sequence[OpenAlert]: ...


@runtime_checkable
class DigestSink(Protocol):
    @property
    def name(self) -> str: ...

    def deliver_digest(self, digest: Digest) -> DeliveryError | None:
        """None once posted; the error otherwise (``permanent`` when retrying cannot help)."""
        ...


class Owed(Protocol):
    @property
    def digest(self) -> Digest: ...

    @property
    def due(self) -> frozenset[str]:
        """Sinks that have not posted it yet."""
        ...


class DigestLedger(DeliveryStore, Protocol):
    """Deliveries are keyed by the digest's date."""

    def load(self, date: str) -> Owed | None: ...

    def create(self, digest: Digest, sinks: frozenset[str], *, now: float) -> bool: ...


@dataclass
class DigestReport:
    date: str
    created: bool = False
    """This invocation built and stored the day's digest (False: it existed already)."""
    posted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Sink name: error kind; the digest stays owed to it."""

    def to_dict(self) -> dict[str, object]:
        return {"date": self.date, "created": self.created, "posted": self.posted, "failed": self.failed}


class DailyDigest:
    def __init__(
        self,
        *,
        fleet: FleetSource,
        alerts: OpenAlerts,
        ledger: DigestLedger,
        sinks: Sequence[DigestSink],
        clock: Callable[[], float],
        deadline: Deadline,
        lease_seconds: float,
        budget_seconds: float,
    ) -> None:
        self._fleet = fleet
        self._alerts = alerts
        self._ledger = ledger
        self._sinks = tuple(sinks)
        self._clock = clock
        self._deadline = deadline
        self._lease_seconds = lease_seconds
        self._budget_seconds = budget_seconds

    def run(self, date: str) -> DigestReport:
        """Build, store and post the digest of ``date`` (YYYY-MM-DD, UTC), or post what is still owed of it."""
        report = DigestReport(date)
        owed = self._ledger.load(date)
        if owed is None:
            digest = Digest.of(date, self._fleet.fleet(), self._alerts.open_alerts())
            report.created = self._ledger.create(digest, frozenset(s.name for s in self._sinks), now=self._clock())
            owed = self._ledger.load(date)  # a concurrent duplicate may have stored it first
        if owed is None:
            logger.error("the day's digest was stored but cannot be read back", extra={"date": date})
            return report
        return self._deliver(owed, report)

    def retry_owed(self, dates: Sequence[str]) -> list[DigestReport]:
        """Post what is still owed of these days' digests (never build one); a failure here waits for next time."""
        reports: list[DigestReport] = []
        for date in dates:
            try:
                owed = self._ledger.load(date)
            except (AlertStoreError, DeadlineExceededError):
                # After a sweep that used its time up: the next sweep reads it, rather than this one failing.
                logger.warning("could not read an owed digest", extra={"date": date})
                continue
            if owed is not None and owed.due & {sink.name for sink in self._sinks}:
                reports.append(self._deliver(owed, DigestReport(date)))
        return reports

    def _deliver(self, owed: Owed, report: DigestReport) -> DigestReport:
        if not self._deadline.allows(self._budget_seconds):
            logger.warning("too little time left to post the digest; it stays owed", extra={"date": report.date})
            return report
        deliveries = DeliveryRound(self._ledger, uuid.uuid4().hex, self._clock, self._lease_seconds, "digest", logger)
        digest, where = owed.digest, {"date": owed.digest.date}
        tally = Tally()
        for sink in self._sinks:
            if sink.name not in owed.due or not deliveries.claim(digest.date, sink.name, digest.id, where):
                continue
            error = guarded_delivery(logger, sink.name, partial(sink.deliver_digest, digest), _as_is)
            settled = deliveries.settle(digest.date, sink.name, digest.id, error, where)
            if error is None:
                report.posted.append(sink.name)
                if settled is Settled.DELIVERED:
                    tally.sent[sink.name] += 1
            else:
                report.failed[sink.name] = error.kind
                tally.failed[(sink.name, error.kind)] += 1
                if settled is Settled.ABANDONED:
                    tally.abandoned[sink.name] += 1
        tally.emit()
        return report


def _as_is(error: DeliveryError) -> DeliveryError | None:
    return error
