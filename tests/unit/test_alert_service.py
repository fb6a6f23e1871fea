"""The alert service with in-memory fakes: sweeps, de-duplication, retries per sink, mutes, time budget."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from endpoint_relay.alert_service import AlertConfig, AlertService
from endpoint_relay.core.alerting import AlertStoreError, DeliveryError, Notice, NoticeKind
from endpoint_relay.core.cache import CachePolicy
from endpoint_relay.core.errors import ConfigurationError, InvalidEndpointIdError, UpstreamUnavailableError
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import PolicyDocument
from tests.fakes import FakeClock, FakeSecrets, FakeUpstream
from tests.unit.alerting_fakes import MemoryAlertStore, RecordingSink

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
OTHER = "endpoint-0a1b2c3d"
HOUR = 3600.0


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.upstream = FakeUpstream()
        self.store = MemoryAlertStore()
        self.slack = RecordingSink("slack")
        self.sns = RecordingSink("sns")

    def service(self, *, watched: tuple[str, ...] | None = None, workers: int = 4) -> AlertService:
        lookups = LookupService(
            upstream=self.upstream, secrets=FakeSecrets(), policy=CachePolicy(30, 900, 10), clock=self.clock
        )
        return AlertService(
            policy=PolicyDocument.default,
            store=self.store,
            sinks=(self.slack, self.sns),
            lookups=lookups,
            list_endpoint_ids=lambda: self.upstream.list_endpoint_ids("fake-key"),
            config=AlertConfig(repeat_interval=4 * HOUR, watched=watched, max_workers=workers),
            clock=self.clock,
        )


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

    def run(service: AlertService) -> None:
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


def test_the_sweep_starts_no_check_once_time_runs_low(world: World) -> None:
    for index in range(5):
        world.upstream.put(f"endpoint-{index}", state="ERROR")
    budget = iter([60_000, 60_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000])
    report = world.service(workers=1).sweep(
        [f"endpoint-{index}" for index in range(5)], remaining_ms=lambda: next(budget, 0)
    )
    assert [check.endpoint_id for check in report.checks] == ["endpoint-0", "endpoint-1"]
    assert report.skipped == ("endpoint-2", "endpoint-3", "endpoint-4")


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


def test_an_inactive_service_evaluates_but_cannot_mute_or_sweep() -> None:
    service = AlertService.inactive()
    endpoint = Endpoint.from_dict({"id": EP, "state": "ERROR", "autoscaling": {"min_replicas": 1, "max_replicas": 1}})
    assert [finding.kind for finding in service.evaluate(endpoint)] == ["state_failed"]
    assert [finding.kind for finding in service.observe(endpoint)] == ["state_failed"]
    with pytest.raises(ConfigurationError):
        service.mute(EP, 1.0, "U0123ABCD")
    with pytest.raises(ConfigurationError):
        service.sweep([EP])


def test_a_failed_endpoint_list_fails_the_sweep_so_it_is_retried(world: World) -> None:
    def broken_list() -> list[str]:
        raise UpstreamUnavailableError("Together answered 503")

    service = world.service()
    service._list_endpoint_ids = broken_list
    with pytest.raises(UpstreamUnavailableError):
        service.sweep(["all"])


def test_with_too_little_time_left_delivery_waits_for_the_next_sweep(world: World) -> None:
    world.upstream.put(EP, state="ERROR")
    service = world.service()
    endpoint = Endpoint.from_json(world.upstream.get_endpoint(EP, "k")[0])
    # An HTTP lookup with 5 s left records the alert but does not risk API Gateway's deadline on Slack
    service.observe(endpoint, remaining_ms=lambda: 5_000)
    assert world.slack.kinds() == [] and world.sns.kinds() == []
    # A sweep with time for its checks but not for delivery leaves the notice owed too
    report = service.sweep([EP], remaining_ms=lambda: 10_000)
    assert report.checks[0].error is None and report.notifications_sent == 0
    # The next sweep with time to spare delivers it, once
    service.sweep([EP], remaining_ms=lambda: 28_000)
    assert world.slack.kinds() == world.sns.kinds() == ["firing"]
