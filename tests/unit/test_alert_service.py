"""The alerting units composed with in-memory fakes: sweeps, de-duplication, retries per sink, mutes, time budget."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence

import pytest

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.app.sweep import SweepConfig, SweepRunner
from endpoint_relay.core.alert_preload import PreloadedAlert
from endpoint_relay.core.alerting import (
    MAX_PERMANENT_REFUSALS,
    AlertState,
    AlertStoreError,
    DeliveryError,
    EndpointSnapshot,
    LifecycleWrite,
    MemoryCursor,
    Notice,
    NoticeKind,
    SweepReport,
)
from endpoint_relay.core.cache import CachePolicy
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import ConfigurationError, InvalidEndpointIdError, UpstreamUnavailableError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Finding, PolicyDocument, Severity
from endpoint_relay.observability import metrics
from tests.fakes import FakeClock, FakeSecrets, FakeUpstream
from tests.unit.alerting_fakes import MemoryAlertStore, RecordingSink

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
OTHER = "endpoint-0a1b2c3d"
HOUR = 3600.0
AWS_CALL_SECONDS = 6.0
"""One AWS call's worst case, as aws_clients reckons it; every store call first needs it left (boto3's hook)."""


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.upstream = FakeUpstream()
        self.store = MemoryAlertStore()
        self.slack = RecordingSink("slack")
        self.sns = RecordingSink("sns")

    def service(self, *, watched: tuple[str, ...] | None = None, workers: int = 4) -> Alerting:
        lookups = LookupService(
            upstream=self.upstream, secrets=FakeSecrets(), policy=CachePolicy(30, 900, 10), clock=self.clock
        )
        return Alerting.compose(self, lookups, watched=watched, workers=workers)


class Alerting:
    """The units a function's graph wires together, composed here with the fakes."""

    def __init__(self, recorder: DecisionRecorder, mutes: Mutes, alerts: LookupAlerts, sweeps: SweepRunner) -> None:
        self.recorder, self.mutes, self.alerts, self.sweeps = recorder, mutes, alerts, sweeps
        self.deadline = Deadline()

    @classmethod
    def compose(
        cls, world: World, lookups: LookupService, *, watched: tuple[str, ...] | None, workers: int, store: bool = True
    ) -> Alerting:
        sinks = (world.slack, world.sns)
        alert_store = world.store if store else None
        recorder = DecisionRecorder(
            policy=PolicyDocument.default,
            store=alert_store,
            sink_names=[sink.name for sink in sinks],
            clock=world.clock,
            repeat_interval=4 * HOUR,
        )
        deadline = Deadline(clock=world.clock)
        dispatcher = NoticeDispatcher(
            store=alert_store,
            sinks=sinks,
            clock=world.clock,
            deadline=deadline,
            lease_seconds=60,
            budget_seconds=15,
            settle_seconds=AWS_CALL_SECONDS,
        )
        sweeps = SweepRunner(
            lookups=lookups,
            recorder=recorder,
            dispatcher=dispatcher,
            deadline=deadline,
            list_endpoint_ids=lambda: world.upstream.list_endpoint_ids("fake-key"),
            cursor=MemoryCursor(),
            config=SweepConfig(watched=watched, max_workers=workers, check_seconds=5),
            # As SweepFunction is wired: the targets' alert state is read in batches first.
            preload=world.store.load_many if store else None,
        )
        composed = cls(
            recorder,
            Mutes(store=alert_store, sink_names=[sink.name for sink in sinks], clock=world.clock),
            LookupAlerts(recorder=recorder, dispatcher=dispatcher),
            sweeps,
        )
        composed.deadline = deadline
        return composed

    def sweep(self, targets: Sequence[str] | None = None, *, remaining_ms: int | None = None) -> SweepReport:
        if remaining_ms is not None:
            self.deadline.arm(remaining_ms)
        try:
            return self.sweeps.run(targets)
        finally:
            self.deadline.disarm()

    def observe(self, endpoint: Endpoint, *, remaining_ms: int | None = None) -> tuple[Finding, ...]:
        if remaining_ms is not None:
            self.deadline.arm(remaining_ms)
        try:
            return self.alerts.observe(endpoint)
        finally:
            self.deadline.disarm()

    def evaluate(self, endpoint: Endpoint) -> tuple[Finding, ...]:
        return self.recorder.evaluate(endpoint)

    def mute(self, endpoint_id: str, until: float, actor: str) -> None:
        self.mutes.mute(endpoint_id, until, actor)

    def unmute(self, endpoint_id: str, actor: str) -> None:
        self.mutes.unmute(endpoint_id, actor)

    def muted_until(self, endpoint_id: str) -> float | None:
        return self.mutes.muted_until(endpoint_id)


@pytest.fixture
def world() -> World:
    return World()


def test_a_failing_endpoint_is_announced_once_per_sink(world: World) -> None:
    # Given an endpoint in ERROR
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    # When three sweeps run inside the repeat interval
    reports = [service.sweep([EP]) for _ in range(3)]
    # Then each sink got exactly one firing notice
    assert world.slack.kinds() == world.sns.kinds() == ["firing"]
    assert [report.notifications_sent for report in reports] == [2, 0, 0]
    assert reports[0].checks[0].notice is NoticeKind.FIRING
    assert reports[0].checks[0].findings[0].kind == "state_failed"


def test_the_sweep_bypasses_the_fresh_cache(world: World) -> None:
    world.upstream.put(EP)
    service = world.service()
    service.sweep([EP])
    service.sweep([EP])
    assert len(world.upstream.calls) == 2


def test_a_failed_delivery_is_retried_next_sweep_on_that_sink_only(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.slack.failures.append(DeliveryError("Slack answered 500", kind="server_error"))
    service = world.service()

    first = service.sweep([EP])
    assert world.slack.kinds() == [] and world.sns.kinds() == ["firing"]
    assert (first.notifications_sent, first.delivery_failures) == (1, 1)

    second = service.sweep([EP])
    assert world.slack.kinds() == ["firing"] and world.sns.kinds() == ["firing"]
    assert second.notifications_sent == 1


def test_a_newer_notice_replaces_one_still_owed(world: World) -> None:
    # Given Slack failed to take the firing notice
    world.upstream.put(EP, state="ERROR")
    world.slack.failures.append(DeliveryError("timeout", kind="timeout"))
    service = world.service()
    service.sweep([EP])
    # When the findings change before the retry
    world.upstream.put(EP, state="ERROR", min_replicas=0)
    service.sweep([EP])
    # Then Slack hears the current news only, and SNS hears both
    assert world.slack.kinds() == ["changed"]
    assert world.sns.kinds() == ["firing", "changed"]


def test_twenty_concurrent_sweeps_notify_once_per_sink(world: World) -> None:
    world.upstream.put(EP, state="FAILED")
    services = [world.service() for _ in range(20)]
    barrier = threading.Barrier(len(services))

    def run(service: Alerting) -> None:
        barrier.wait()
        service.sweep([EP])

    threads = [threading.Thread(target=run, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert world.slack.kinds() == ["firing"]
    assert world.sns.kinds() == ["firing"]


def test_reminder_and_resolution_follow_the_clock(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    service.sweep([EP])
    world.clock.advance(4 * HOUR + 1)
    service.sweep([EP])
    world.upstream.put(EP, state="STARTED")
    service.sweep([EP])
    service.sweep([EP])
    assert world.slack.kinds() == ["firing", "reminder", "resolved"]


def test_mute_silences_sweeps_and_unmute_brings_alerts_back(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    service.mute(EP, world.clock.now + HOUR, "U0123ABCD")
    assert service.muted_until(EP) == world.clock.now + HOUR

    muted = service.sweep([EP])
    assert world.slack.kinds() == [] and world.sns.kinds() == []
    assert muted.checks[0].muted is True
    assert muted.suppressed == 1

    service.unmute(EP, "U0123ABCD")
    assert service.muted_until(EP) is None
    service.sweep([EP])
    assert world.slack.kinds() == ["firing"]


def test_an_expired_mute_lets_the_endpoint_alert_again(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    service.mute(EP, world.clock.now + 600, "U0123ABCD")
    service.sweep([EP])
    world.clock.advance(601)
    assert service.muted_until(EP) is None
    service.sweep([EP])
    assert world.slack.kinds() == ["firing"]


def test_mute_refuses_a_bad_endpoint_id(world: World) -> None:
    with pytest.raises(InvalidEndpointIdError):
        world.service().mute("../../etc", world.clock.now + 60, "U0123ABCD")


def test_per_endpoint_failures_are_reported_without_aborting(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.upstream.failing[OTHER] = UpstreamUnavailableError("Together answered 500")
    report = world.service().sweep(["endpoint-missing", OTHER, "Not An Id", EP])
    errors = {check.endpoint_id: check.error for check in report.checks}
    assert errors["endpoint-missing"] == "endpoint not found"
    assert "upstream_unavailable" in str(errors[OTHER])
    assert errors["Not An Id"] == "invalid endpoint id"
    assert errors[EP] is None
    assert len(report.failures) == 3
    assert world.slack.kinds() == ["firing"]


def _slow_upstream(world: World, seconds: float) -> None:
    """Every Together answer takes ``seconds`` of the world's clock."""
    answer = world.upstream.get_endpoint

    def slow(endpoint_id: str, api_key: str) -> tuple[str, Endpoint]:
        world.clock.advance(seconds)
        return answer(endpoint_id, api_key)

    world.upstream.get_endpoint = slow  # type: ignore[method-assign]


def test_the_sweep_starts_no_check_once_time_runs_low(world: World) -> None:
    # Given five failing endpoints that take 21 s each, and 60 s of which 15 s are kept for delivery
    targets = [f"endpoint-{index}" for index in range(5)]
    for target in targets:
        world.upstream.put(target, state="ERROR")
    _slow_upstream(world, 21)
    service = world.service(workers=1)
    # When a sweep runs
    report = service.sweep(targets, remaining_ms=60_000)
    # Then it checks what fits before the reserve, skips the rest, and still delivers
    assert [check.endpoint_id for check in report.checks] == ["endpoint-0", "endpoint-1"]
    assert report.skipped == ("endpoint-2", "endpoint-3", "endpoint-4")
    assert report.notifications_sent == 4


def test_consecutive_sweeps_start_where_the_last_one_stopped(world: World) -> None:
    targets = [f"endpoint-{index}" for index in range(5)]
    for target in targets:
        world.upstream.put(target, state="ERROR")
    _slow_upstream(world, 21)
    service = world.service(workers=1)
    first = service.sweep(targets, remaining_ms=60_000)
    second = service.sweep(targets, remaining_ms=60_000)
    third = service.sweep(targets, remaining_ms=60_000)
    assert [c.endpoint_id for c in second.checks] == ["endpoint-2", "endpoint-3"]
    assert [c.endpoint_id for c in third.checks] == ["endpoint-4", "endpoint-0"]
    checked = {c.endpoint_id for report in (first, second, third) for c in report.checks}
    assert checked == set(targets)
    assert sorted(world.slack.kinds()) == ["firing"] * 5


def test_all_means_every_dedicated_endpoint(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.upstream.put(OTHER)
    report = world.service().sweep(["all"])
    assert sorted(check.endpoint_id for check in report.checks) == sorted([EP, OTHER])


def test_no_targets_means_the_watched_endpoints(world: World) -> None:
    world.upstream.put(EP)
    world.upstream.put(OTHER)
    assert [check.endpoint_id for check in world.service(watched=(OTHER,)).sweep().checks] == [OTHER]
    assert len(world.service(watched=None).sweep().checks) == 2


def test_repeated_observations_notify_once(world: World) -> None:
    service = world.service()
    world.upstream.put(EP, state="ERROR")
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    for _ in range(10):
        findings = service.observe(endpoint)
    assert findings[0].kind == "state_failed"
    assert world.slack.kinds() == ["firing"]


def test_evaluate_changes_nothing(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    findings = world.service().evaluate(endpoint)
    assert [finding.kind for finding in findings] == ["state_failed"]
    assert world.store.saves == 0 and world.slack.kinds() == []


def test_a_lookup_judges_an_answer_from_the_cache_and_records_only_a_real_retrieval(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    alerts = world.service().alerts
    judged = alerts.judge(endpoint, retrieved=False)
    assert [finding.kind for finding in judged] == ["state_failed"]
    assert world.store.saves == 0 and world.slack.kinds() == []
    assert alerts.judge(endpoint, retrieved=True) == judged
    assert world.store.saves > 0 and world.slack.kinds() == ["firing"]


def test_a_broken_store_is_reported_per_endpoint_and_policy_still_evaluated(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.store.fail_with = AlertStoreError("ProvisionedThroughputExceededException")
    report = world.service().sweep([EP])
    (check,) = report.checks
    assert check.error is not None and "alert_state_unavailable" in check.error
    assert check.findings[0].kind == "state_failed"


def test_a_sink_that_crashes_does_not_stop_the_other(world: World) -> None:
    class CrashingSink(RecordingSink):
        def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
            raise RuntimeError("bug")

    world.slack = CrashingSink("slack")
    world.upstream.put(EP, state="ERROR")
    report = world.service().sweep([EP])
    assert world.sns.kinds() == ["firing"]
    assert report.delivery_failures == 1


def test_without_a_state_store_policy_is_evaluated_but_nothing_is_muted_or_sent(world: World) -> None:
    lookups = LookupService(upstream=world.upstream, secrets=FakeSecrets(), policy=CachePolicy(30, 900, 10))
    service = Alerting.compose(world, lookups, watched=None, workers=1, store=False)
    endpoint = Endpoint.from_dict({"id": EP, "state": "ERROR", "autoscaling": {"min_replicas": 1, "max_replicas": 1}})
    assert [finding.kind for finding in service.evaluate(endpoint)] == ["state_failed"]
    assert [finding.kind for finding in service.observe(endpoint)] == ["state_failed"]
    with pytest.raises(ConfigurationError):
        service.mute(EP, 1.0, "U0123ABCD")
    assert world.slack.kinds() == []


def test_a_failed_endpoint_list_fails_the_sweep_so_it_is_retried(world: World) -> None:
    def broken_list() -> list[str]:
        raise UpstreamUnavailableError("Together answered 503")

    service = world.service()
    service.sweeps.list_endpoint_ids = broken_list
    with pytest.raises(UpstreamUnavailableError):
        service.sweep(["all"])


def test_with_too_little_time_left_delivery_waits_for_the_next_sweep(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    # An HTTP lookup with 5 s left records the alert but does not risk API Gateway's deadline on Slack
    service.observe(endpoint, remaining_ms=5_000)
    assert world.slack.kinds() == [] and world.sns.kinds() == []
    # A sweep with too little time for its checks and the delivery it reserves checks nothing
    report = service.sweep([EP], remaining_ms=10_000)
    assert report.checks == () and report.skipped == (EP,)
    # The next sweep with time to spare checks and delivers, once
    service.sweep([EP], remaining_ms=28_000)
    assert world.slack.kinds() == world.sns.kinds() == ["firing"]


class DeadlineBoundStore(MemoryAlertStore):
    """The alert table as DynamoDB serves it: a call is refused, not started, when its worst case no longer fits."""

    deadline = Deadline()
    clock: FakeClock | None = None
    record_seconds = 0.0
    """How long recording a delivery's outcome takes (a slow table)."""

    def claim(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float, lease: float) -> bool:
        self.deadline.require(AWS_CALL_SECONDS, "dynamodb.UpdateItem")
        return super().claim(endpoint_id, sink, notice_id, owner=owner, now=now, lease=lease)

    def mark_delivered(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float) -> None:
        self.deadline.require(AWS_CALL_SECONDS, "dynamodb.UpdateItem")
        if self.clock is not None:
            self.clock.advance(self.record_seconds)
        super().mark_delivered(endpoint_id, sink, notice_id, owner=owner, now=now)

    def release(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, permanent: bool = False) -> bool:
        self.deadline.require(AWS_CALL_SECONDS, "dynamodb.UpdateItem")
        return super().release(endpoint_id, sink, notice_id, owner=owner, permanent=permanent)


class PacedSlack(RecordingSink):
    """Slack taking ``seconds`` of the world's clock per message (one notice each), as the webhook client does:
    a post that no longer fits the deadline is not started, and it and the rest stay owed."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__("slack")
        self.clock, self.seconds, self.deadline = clock, seconds, Deadline()

    def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        results: dict[str, DeliveryError | None] = {}
        for notice in notices:
            if not self.deadline.allows(self.seconds):
                results[notice.id] = DeliveryError("too little time left to post to Slack", kind="deadline_exceeded")
                continue
            self.clock.advance(self.seconds)
            self.delivered.append(notice)
            results[notice.id] = None
        return results


def test_a_slow_slack_in_a_burst_leaves_the_time_to_record_what_was_delivered(world: World) -> None:
    # Given four endpoints failing at once, Slack taking 4 s per message (rate limited in a burst), and DynamoDB
    # refusing any call whose worst case no longer fits: 15 s are kept for delivery, 6 s of them to record it
    targets = [f"endpoint-{index}" for index in range(4)]
    for target in targets:
        world.upstream.put(target, state="ERROR")
    world.store = DeadlineBoundStore()
    world.slack = PacedSlack(world.clock, 4.0)
    service = world.service()
    world.store.deadline = world.slack.deadline = service.deadline
    # When a sweep runs with just the time for its checks and the delivery reserve
    report = service.sweep(targets, remaining_ms=20_000)
    # Then it completes: Slack took what fit beside the recording, SNS took all four, and all of it is recorded
    assert len(report.checks) == 4
    assert len(world.slack.kinds()) == 3 and world.sns.kinds() == ["firing"] * 4
    # And once every lease has ended, the next sweeps bring Slack the rest and repeat nothing to either sink
    world.clock.advance(61)
    service.sweep(targets, remaining_ms=20_000)
    service.sweep(targets, remaining_ms=20_000)
    assert sorted(n.endpoint_id for n in world.slack.delivered) == targets
    assert world.sns.kinds() == ["firing"] * 4


def test_a_slow_alert_table_while_recording_deliveries_does_not_fail_the_sweep(world: World) -> None:
    # Given four endpoints failing at once, and an alert table taking 3 s per write once the notices are out
    targets = [f"endpoint-{index}" for index in range(4)]
    for target in targets:
        world.upstream.put(target, state="ERROR")
    store = world.store = DeadlineBoundStore()
    service = world.service()
    store.deadline, store.clock, store.record_seconds = service.deadline, world.clock, 3.0
    # When a sweep has time for five of its eight records
    report = service.sweep(targets, remaining_ms=20_000)
    # Then it still reports what it checked and sent; the deliveries it could not record stay claimed until
    # their leases end (they may be sent again then, never lost)
    assert len(report.checks) == 4 and report.notifications_sent == 8
    assert world.slack.kinds() == world.sns.kinds() == ["firing"] * 4
    unrecorded = [(t, sink) for t in targets for sink in sorted(store.load(t).due)]  # type: ignore[union-attr]
    assert len(unrecorded) == 3


# --- alert state read in batches before the checks -------------------------------------------------------------------


def test_a_sweep_reads_its_targets_state_in_batches_of_100_and_each_check_reads_none(world: World) -> None:
    targets = [f"endpoint-{index}" for index in range(250)]
    for target in targets:
        world.upstream.put(target)
    service = world.service()
    first = service.sweep(targets)
    assert sorted(world.store.batch_loads) == [50, 100, 100] and world.store.loads == 0
    assert len(first.checks) == 250 and world.store.saves == 250  # each endpoint's first state
    # The next sweep finds nothing changed: it reads in batches again and writes nothing
    world.clock.advance(300)
    service.sweep(targets)
    assert world.store.loads == 0 and world.store.saves == 250


def test_invalid_ids_are_not_read_in_the_batch(world: World) -> None:
    world.upstream.put(EP)
    service = world.service()
    report = service.sweep([EP, "not-an-endpoint"])
    assert world.store.batch_loads == [1]
    assert [check.error for check in report.checks] == [None, "invalid endpoint id"]


def test_when_the_batch_read_fails_each_check_reads_its_own_state(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.upstream.put(OTHER)
    world.store.fail_batches_with = AlertStoreError("ThrottlingException", param=None)
    report = world.service().sweep([EP, OTHER])
    assert world.store.loads == 2 and report.failures == ()
    assert world.slack.kinds() == world.sns.kinds() == ["firing"]


def test_a_state_changed_after_the_batch_read_loses_the_write_and_is_read_again(world: World) -> None:
    # Given a failing endpoint, and a lookup that announces it between the sweep's batch read and its check
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    read_ahead = world.store.load_many

    def batch_then_lookup(endpoint_ids: Sequence[str]) -> dict[str, PreloadedAlert]:
        loaded = read_ahead(endpoint_ids)
        service.observe(endpoint)
        return loaded

    service.sweeps.preload = batch_then_lookup
    # When the sweep checks it with the state it read before the lookup wrote
    report = service.sweep([EP])
    # Then its conditional write lost, it read the state afresh, and nobody heard twice
    assert world.store.loads == 2  # the lookup's own read, and the sweep's after its lost write
    assert report.notifications_sent == 0 and report.checks[0].error is None
    assert world.slack.kinds() == world.sns.kinds() == ["firing"]


def test_no_batch_is_read_for_checks_that_cannot_start(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    report = service.sweep([EP], remaining_ms=10_000)  # less than the delivery reserve plus one check
    assert report.skipped == (EP,) and world.store.batch_loads == []


# --- a stale FIRING notice is sent after a mute ends, and is never resolved ------------------------------------------


def test_a_stale_firing_notice_is_not_sent_after_a_mute_ends(world: World) -> None:
    # Given Slack failed to take the firing notice, so it is still owed to Slack
    world.upstream.put(EP, state="ERROR")
    world.slack.failures.append(DeliveryError("Slack answered 500", kind="server_error"))
    service = world.service()
    service.sweep([EP])
    assert world.slack.kinds() == [] and world.sns.kinds() == ["firing"]
    # When the endpoint is muted for an hour, recovers, and the clock moves past the mute
    service.mute(EP, world.clock.now + HOUR, "slack:T0:U0ONCALL1")
    world.upstream.put(EP, state="STARTED")
    service.sweep([EP])
    world.clock.advance(HOUR)
    service.sweep([EP])
    service.sweep([EP])
    # Then Slack never hears the old FIRING for the healthy endpoint (so no RESOLVED is owed either)
    assert world.slack.kinds() == []
    assert world.store.load(EP).due == frozenset()  # type: ignore[union-attr]


def test_an_owed_notice_that_no_longer_matches_the_endpoint_is_dropped_not_delivered(world: World) -> None:
    # Given an item as the mute defect left it: a FIRING still owed to Slack, for an endpoint now healthy
    world.upstream.put(EP)
    snapshot = EndpointSnapshot.bare(EP)
    finding = Finding(kind="state_failed", severity=Severity.CRITICAL, message="ERROR", actual="ERROR")
    stale = Notice(f"{EP}:firing:1", NoticeKind.FIRING, snapshot, (finding,), opened_at=1.0, created_at=1.0)
    healthy = AlertState(endpoint_state="STARTED", state_since=world.clock.now)
    assert world.store.save(EP, LifecycleWrite(healthy, 0, world.clock.now, stale, ("slack",)))
    # When sweeps check it
    service = world.service()
    service.sweep([EP])
    service.sweep([EP])
    # Then the notice is dropped in the lifecycle write, never delivered
    assert world.slack.kinds() == [] and world.sns.kinds() == []
    stored = world.store.load(EP)
    assert stored is not None and stored.notice is None and stored.due == frozenset()


# --- permanent delivery errors are never retired --------------------------------------------------------------------


def test_a_permanently_refused_notice_is_retired_after_bounded_attempts(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given Slack refuses the payload for good, every time
    world.upstream.put(EP, state="ERROR")
    refusal = DeliveryError("Slack refused the message (invalid_payload)", kind="invalid_payload", permanent=True)
    world.slack.failures.extend([refusal] * (MAX_PERMANENT_REFUSALS + 3))
    service = world.service()
    metrics.clear_metrics()
    # When sweeps keep running inside the repeat interval
    with caplog.at_level(logging.ERROR, logger="endpoint_relay.app.dispatcher"):
        reports = [service.sweep([EP]) for _ in range(MAX_PERMANENT_REFUSALS + 2)]
    # Then Slack is tried exactly MAX_PERMANENT_REFUSALS times, and the notice is retired for Slack only
    assert [report.delivery_failures for report in reports] == [1] * MAX_PERMANENT_REFUSALS + [0, 0]
    assert len(world.slack.failures) == 3
    assert world.sns.kinds() == ["firing"]
    stored = world.store.load(EP)
    assert stored is not None and stored.due == frozenset()
    # loudly: one error log naming the sink, and the metric the DeliveryAbandonedAlarm watches
    abandoned = [record for record in caplog.records if "abandoned" in record.getMessage()]
    assert len(abandoned) == 1 and abandoned[0].__dict__["sink"] == "slack"
    assert metrics.metric_set["DeliveryAbandoned"]["Value"] == [1.0]
    by_sink = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "DeliveryAbandonedBySink" in line]
    assert [(line["sink"], line["DeliveryAbandonedBySink"]) for line in by_sink] == [("slack", [1.0])]


def test_a_transiently_failing_notice_stays_owed_however_often_it_fails(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    world.slack.failures.extend([DeliveryError("timeout", kind="timeout")] * (3 * MAX_PERMANENT_REFUSALS))
    service = world.service()
    for _ in range(3 * MAX_PERMANENT_REFUSALS):
        service.sweep([EP])
    assert world.slack.kinds() == []
    service.sweep([EP])
    assert world.slack.kinds() == ["firing"]


def test_a_new_notice_starts_its_own_count_of_refusals(world: World) -> None:
    # Given Slack refused the FIRING notice one time short of retiring it
    world.upstream.put(EP, state="ERROR")
    refusal = DeliveryError("refused", kind="invalid_payload", permanent=True)
    world.slack.failures.extend([refusal] * (MAX_PERMANENT_REFUSALS - 1))
    service = world.service()
    for _ in range(MAX_PERMANENT_REFUSALS - 1):
        service.sweep([EP])
    # When the endpoint recovers and the RESOLVED notice is refused once
    world.upstream.put(EP, state="STARTED")
    world.slack.failures.append(refusal)
    service.sweep([EP])
    # Then it is still owed and delivered on the next sweep
    service.sweep([EP])
    assert world.slack.kinds() == ["resolved"]


# --- mutes and unmutes are announced ---------------------------------------------------------------------------------


def test_a_mute_and_an_unmute_are_each_announced_once_per_sink(world: World) -> None:
    # Given a healthy endpoint; nobody dispatches the announcements at once, so sweeps deliver them
    world.upstream.put(EP)
    service = world.service()
    until = world.clock.now + HOUR
    owed = service.mutes.mute(EP, until, "slack:T0:U0ONCALL1")
    assert owed is not None and owed.sinks == {"slack", "sns"}
    service.sweep([EP])
    service.sweep([EP])
    service.mutes.unmute(EP, "slack:T0:U0ONCALL1")
    service.sweep([EP])
    service.sweep([EP])
    for sink in (world.slack, world.sns):
        announced = sink.announcements()
        assert [notice.kind for notice in announced] == [NoticeKind.MUTED, NoticeKind.UNMUTED]
        assert all(n.endpoint_id == EP and n.actor == "slack:T0:U0ONCALL1" for n in announced)
        assert announced[0].muted_until == until and announced[1].muted_until is None
    assert world.slack.kinds() == []
