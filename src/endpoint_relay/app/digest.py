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
from typing import Protocol, runtime_checkable

from endpoint_relay.app.dispatcher import Tally
from endpoint_relay.core.alerting import AlertStoreError, DeliveryError
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.digest import Digest, OpenAlert
from endpoint_relay.core.fleet import Fleet

logger = logging.getLogger(__name__)


class FleetSource(Protocol):
    def fleet(self) -> Fleet: ...


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


class DigestLedger(Protocol):
    def load(self, date: str) -> Owed | None: ...

    def create(self, digest: Digest, sinks: frozenset[str], *, now: float) -> bool: ...

    def claim(self, date: str, sink: str, digest_id: str, *, owner: str, now: float, lease: float) -> bool: ...

    def mark_delivered(self, date: str, sink: str, digest_id: str, *, owner: str, now: float) -> None: ...

    def release(self, date: str, sink: str, digest_id: str, *, owner: str, permanent: bool = False) -> bool: ...


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
            except AlertStoreError:
                logger.warning("could not read an owed digest", extra={"date": date})
                continue
            if owed is not None and owed.due & {sink.name for sink in self._sinks}:
                reports.append(self._deliver(owed, DigestReport(date)))
        return reports

    def _deliver(self, owed: Owed, report: DigestReport) -> DigestReport:
        if not self._deadline.allows(self._budget_seconds):
            logger.warning("too little time left to post the digest; it stays owed", extra={"date": report.date})
            return report
        owner = uuid.uuid4().hex
        tally = Tally()
        for sink in self._sinks:
            if sink.name in owed.due and self._claim(owed.digest, sink.name, owner):
                error = _post(sink, owed.digest)
                self._settle(owed.digest, sink.name, error, owner, tally)
                if error is None:
                    report.posted.append(sink.name)
                else:
                    report.failed[sink.name] = error.kind
        tally.emit()
        return report

    def _claim(self, digest: Digest, sink: str, owner: str) -> bool:
        try:
            return self._ledger.claim(
                digest.date, sink, digest.id, owner=owner, now=self._clock(), lease=self._lease_seconds
            )
        except AlertStoreError:
            logger.warning("could not claim the digest's delivery", extra={"date": digest.date, "sink": sink})
            return False

    def _settle(self, digest: Digest, sink: str, error: DeliveryError | None, owner: str, tally: Tally) -> None:
        where = {"date": digest.date, "sink": sink}
        try:
            if error is None:
                self._ledger.mark_delivered(digest.date, sink, digest.id, owner=owner, now=self._clock())
                tally.sent[sink] += 1
                return
            tally.failed[(sink, error.kind)] += 1
            logger.warning("digest not posted; it stays owed", extra={**where, "error_kind": error.kind})
            if self._ledger.release(digest.date, sink, digest.id, owner=owner, permanent=error.permanent):
                tally.abandoned[sink] += 1
                logger.error("digest abandoned: the sink refused it for good, every time", extra=where)
        except AlertStoreError:
            logger.error("could not record the digest's delivery; the lease expires and it may be resent", extra=where)


def _post(sink: DigestSink, digest: Digest) -> DeliveryError | None:
    try:
        return sink.deliver_digest(digest)
    except Exception:  # a sink's bug must not lose the other sink's delivery
        logger.exception("sink failed unexpectedly", extra={"sink": sink.name})
        return DeliveryError("sink failed", kind="internal")
