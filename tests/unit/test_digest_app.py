"""DailyDigest: one digest per UTC date, posted once per sink, a failed sink retried later and only it."""

from __future__ import annotations

from dataclasses import dataclass, field

from endpoint_relay.app.digest import DailyDigest
from endpoint_relay.core.alerting import DeliveryError
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.digest import Digest, OpenAlert
from endpoint_relay.core.fleet import Fleet
from tests.fakes import FakeClock

DATE = "2026-12-07"


@dataclass
class _Owed:
    digest: Digest
    due: frozenset[str]


@dataclass
class MemoryLedger:
    digests: dict[str, Digest] = field(default_factory=dict)
    due: dict[str, set[str]] = field(default_factory=dict)
    leases: dict[tuple[str, str], float] = field(default_factory=dict)
    creates: int = 0

    def load(self, date: str) -> _Owed | None:
        digest = self.digests.get(date)
        return None if digest is None else _Owed(digest, frozenset(self.due[date]))

    def create(self, digest: Digest, sinks: frozenset[str], *, now: float) -> bool:
        self.creates += 1
        if digest.date in self.digests:
            return False
        self.digests[digest.date] = digest
        self.due[digest.date] = set(sinks)
        return True

    def claim(self, date: str, sink: str, digest_id: str, *, owner: str, now: float, lease: float) -> bool:
        if sink not in self.due[date] or self.leases.get((date, sink), 0.0) > now:
            return False
        self.leases[(date, sink)] = now + lease
        return True

    def mark_delivered(self, date: str, sink: str, digest_id: str, *, owner: str, now: float) -> None:
        self.due[date].discard(sink)
        self.leases.pop((date, sink), None)

    def release(self, date: str, sink: str, digest_id: str, *, owner: str, permanent: bool = False) -> bool:
        self.leases.pop((date, sink), None)
        return False


@dataclass
class FakeSink:
    name: str
    failures: list[DeliveryError] = field(default_factory=list)
    posted: list[Digest] = field(default_factory=list)

    def deliver_digest(self, digest: Digest) -> DeliveryError | None:
        if self.failures:
            return self.failures.pop(0)
        self.posted.append(digest)
        return None


@dataclass
class CountingFleet:
    calls: int = 0

    def fleet(self) -> Fleet:
        self.calls += 1
        return Fleet.of((), "2026-12-07T08:00:00Z")


class NoAlerts:
    def open_alerts(self) -> list[OpenAlert]:
        return []


def _digest(ledger: MemoryLedger, *sinks: FakeSink, fleet: CountingFleet | None = None) -> DailyDigest:
    return DailyDigest(
        fleet=fleet or CountingFleet(),
        alerts=NoAlerts(),
        ledger=ledger,
        sinks=sinks,
        clock=FakeClock(),
        deadline=Deadline(),
        lease_seconds=60.0,
        budget_seconds=1.0,
    )


def test_a_duplicate_delivery_posts_nothing_twice_and_builds_the_fleet_once() -> None:
    ledger, slack, sns, fleet = MemoryLedger(), FakeSink("slack"), FakeSink("sns"), CountingFleet()
    digest = _digest(ledger, slack, sns, fleet=fleet)
    first = digest.run(DATE)
    second = digest.run(DATE)
    assert first.created and first.posted == ["slack", "sns"]
    assert not second.created and second.posted == [] and second.failed == {}
    assert len(slack.posted) == len(sns.posted) == 1
    assert fleet.calls == 1


def test_a_failed_sink_stays_owed_and_is_retried_without_reposting_the_other() -> None:
    ledger = MemoryLedger()
    slack = FakeSink("slack", failures=[DeliveryError("Slack answered 500", kind="server_error")])
    sns = FakeSink("sns")
    digest = _digest(ledger, slack, sns)
    first = digest.run(DATE)
    assert first.failed == {"slack": "server_error"} and first.posted == ["sns"]
    retried = digest.retry_owed(["2026-12-06", DATE])
    assert [report.posted for report in retried] == [["slack"]]
    assert digest.retry_owed([DATE]) == []
    assert len(slack.posted) == len(sns.posted) == 1
    assert slack.posted[0] == sns.posted[0]  # the stored digest, not a new one


def test_retrying_never_builds_a_digest() -> None:
    ledger, fleet = MemoryLedger(), CountingFleet()
    assert _digest(ledger, FakeSink("slack"), fleet=fleet).retry_owed([DATE]) == []
    assert fleet.calls == 0 and ledger.creates == 0


def test_a_sink_that_raises_does_not_stop_the_other() -> None:
    class Broken:
        name = "slack"

        def deliver_digest(self, digest: Digest) -> DeliveryError | None:
            raise RuntimeError("bug")

    ledger, sns = MemoryLedger(), FakeSink("sns")
    report = _digest(ledger, Broken(), sns).run(DATE)  # type: ignore[arg-type]
    assert report.failed == {"slack": "internal"} and report.posted == ["sns"]
    assert ledger.due[DATE] == {"slack"}


def test_a_sweep_left_with_too_little_time_leaves_the_owed_digest_for_the_next_one() -> None:
    # Given Slack still owes today's digest, and a ledger refusing any read whose worst case no longer fits
    class DeadlineBoundLedger(MemoryLedger):
        deadline = Deadline()

        def load(self, date: str) -> _Owed | None:
            self.deadline.require(6.0, "dynamodb.GetItem")  # as boto3's before-call hook does
            return super().load(date)

    ledger, slack = DeadlineBoundLedger(), FakeSink("slack", failures=[DeliveryError("500", kind="server_error")])
    digest = _digest(ledger, slack)
    digest.run(DATE)
    # When a sweep that used its time up to the last 3 s retries what is owed
    ledger.deadline.arm(3_000)
    # Then it posts nothing and fails nothing; the next sweep with time posts it
    assert digest.retry_owed([DATE]) == []
    ledger.deadline.disarm()
    assert [report.posted for report in digest.retry_owed([DATE])] == [["slack"]]
