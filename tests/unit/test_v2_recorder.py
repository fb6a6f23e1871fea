"""Alerting on v2 endpoints with in-memory fakes: de-duplication, reminders, resolved, mutes, and the reason."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.reasons import EventReasons
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core.alerting import NoticeKind
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import InvalidEndpointIdError, UpstreamUnavailableError
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.policy import FindingKind, PolicyDocument
from endpoint_relay.core.v2_models import Endpoint
from tests.fakes import T0, FakeClock, FakeEventFeed, FakeSecrets
from tests.unit.alerting_fakes import MemoryAlertStore, RecordingSink
from tests.unit.v2_builders import (
    DEGRADED,
    EP2,
    FAILED,
    OTHER_PROJECT,
    PROJECT,
    PROVISIONING,
    READY,
    SCALING,
    deployment,
    endpoint,
)

KEY = f"{PROJECT}/{EP2}"
MINUTE = 60.0
HOUR = 3600.0


class World:
    def __init__(self, policy: PolicyDocument | None = None) -> None:
        self.clock = FakeClock()
        self.store = MemoryAlertStore()
        self.slack = RecordingSink("slack")
        self.feed = FakeEventFeed()
        self.secrets = FakeSecrets("feed-key")
        self.deadline = Deadline(clock=self.clock)
        self.reasons = EventReasons(
            self.feed,
            lambda: self.secrets.get().together_api_key,
            self.deadline,
            call_seconds=5.0,
            reserve_seconds=10.0,
        )
        document = policy or PolicyDocument.default()
        self.recorder = DecisionRecorder(
            policy=lambda: document,
            store=self.store,
            sink_names=["slack"],
            clock=self.clock,
            repeat_interval=4 * HOUR,
            reasons=self.reasons,
            default_project=PROJECT,
        )
        dispatcher = NoticeDispatcher(
            store=self.store,
            sinks=[self.slack],
            clock=self.clock,
            deadline=self.deadline,
            lease_seconds=60,
            budget_seconds=0,
        )
        self.alerts = LookupAlerts(recorder=self.recorder, dispatcher=dispatcher)
        self.mutes = Mutes(store=self.store, sink_names=["slack"], clock=self.clock)

    def observe(self, subject: Endpoint, *, after: float = 0.0) -> None:
        self.clock.advance(after)
        self.alerts.observe_v2(PROJECT, subject)


def _failed() -> Endpoint:
    return endpoint(deployment(state=FAILED, ready=0))


def test_a_failed_deployment_notifies_once_with_the_events_reason() -> None:
    # Given a healthy endpoint, then its deployment fails with an ERROR event in the feed
    world = World()
    world.observe(endpoint(deployment()))
    world.feed.add("LEVEL_INFO", "scaled")
    world.feed.add("LEVEL_ERROR", "CUDA out of memory <!channel>")
    world.observe(_failed(), after=5 * MINUTE)
    # Then one firing notice, about that deployment, quoting the ERROR event (not the INFO one)
    [notice] = world.slack.delivered
    assert notice.kind is NoticeKind.FIRING and notice.endpoint_id == KEY
    assert notice.findings[0].kind == FindingKind.STATE_FAILED and notice.findings[0].subject == "dep_main"
    assert [(r.level, r.message) for r in notice.endpoint.reason] == [("LEVEL_ERROR", "CUDA out of memory <!channel>")]
    assert [d.id for d in notice.endpoint.deployments] == ["dep_main"]
    # And the feed was asked as documented: WARN and above, since shortly before the transition, with the secret's key
    assert world.feed.calls == [
        {"project": PROJECT, "endpoint": EP2, "key": "feed-key", "level": "LEVEL_WARN", "since": "2023-11-14T22:03:20Z"}
    ]
    # When a burst of lookups sees the same failure: nothing more, and the feed is not read again
    for _ in range(5):
        world.observe(_failed(), after=MINUTE)
    assert world.slack.kinds() == ["firing"] and len(world.feed.calls) == 1


def test_reminders_repeat_the_reason_and_recovery_resolves() -> None:
    world = World()
    world.feed.add("LEVEL_ERROR", "image pull failed")
    world.observe(_failed())
    # After the repeat interval, a reminder quotes the same reason without reading the feed again
    world.observe(_failed(), after=4 * HOUR)
    assert world.slack.kinds() == ["firing", "reminder"]
    assert world.slack.delivered[1].endpoint.reason == world.slack.delivered[0].endpoint.reason
    assert len(world.feed.calls) == 1
    # When it recovers: resolved, with the cleared finding
    world.observe(endpoint(deployment()), after=MINUTE)
    assert world.slack.kinds() == ["firing", "reminder", "resolved"]
    assert world.slack.delivered[-1].findings[0].kind == FindingKind.STATE_FAILED


def test_another_deployment_starting_to_fire_is_a_change_and_is_explained_afresh() -> None:
    world = World()
    split = {"dep_a": 50, "dep_b": 50}
    world.observe(endpoint(deployment("dep_a", state=FAILED), deployment("dep_b"), split=split))
    world.feed.add("LEVEL_WARN", "replica unhealthy", "dep_b")
    world.observe(endpoint(deployment("dep_a", state=FAILED), deployment("dep_b", state=DEGRADED), split=split))
    assert world.slack.kinds() == ["firing", "changed"]
    assert len(world.feed.calls) == 2
    assert [r.message for r in world.slack.delivered[1].endpoint.reason] == ["replica unhealthy"]


def test_a_failing_feed_never_stops_the_notice_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    world.feed.error = UpstreamUnavailableError("Together did not answer")
    with caplog.at_level(logging.WARNING):
        world.observe(_failed())
    [notice] = world.slack.delivered
    assert notice.kind is NoticeKind.FIRING and notice.endpoint.reason == ()
    assert any("events feed unavailable" in record.message for record in caplog.records)


def test_an_unreadable_secret_only_costs_the_reason() -> None:
    world = World()
    world.secrets.error = RuntimeError("secrets down")
    world.observe(_failed())
    assert world.slack.kinds() == ["firing"] and world.feed.calls == []


def test_with_too_little_time_left_the_feed_is_not_asked_and_the_notice_goes_out() -> None:
    world = World()
    world.deadline.arm(remaining_ms=10_000)  # less than the feed's 5 s plus the 10 s kept for delivery
    try:
        world.observe(_failed())
    finally:
        world.deadline.disarm()
    assert world.feed.calls == [] and world.slack.kinds() == ["firing"]


def test_a_muted_v2_endpoint_is_silent_and_alerts_again_after_the_mute() -> None:
    world = World()
    world.mutes.mute(KEY, T0 + HOUR, "U123")
    assert world.mutes.muted_until(KEY) == T0 + HOUR
    world.observe(_failed())
    assert world.slack.kinds() == []
    world.observe(_failed(), after=HOUR + MINUTE)
    assert world.slack.kinds() == ["firing"]


def test_under_replicated_fires_only_after_the_grace_period_from_when_it_became_short() -> None:
    world = World()
    short = endpoint(deployment(state=DEGRADED, ready=1, low=2))
    world.observe(endpoint(deployment(state=READY, ready=2, low=2)))
    world.observe(short, after=MINUTE)
    assert [f.kind for f in world.slack.delivered[0].findings] == [FindingKind.STATE_DEGRADED]
    world.observe(short, after=11 * MINUTE)
    assert world.slack.kinds() == ["firing", "changed"]
    assert FindingKind.UNDER_REPLICATED in {f.kind for f in world.slack.delivered[1].findings}


def _rollout(live_state: str) -> Endpoint:
    """Live A serving (autoscaling), B (the newest, no traffic yet) provisioning."""
    return endpoint(
        deployment("dep_a", live_state, created_at="2023-11-01T00:00:00Z"),
        deployment("dep_b", PROVISIONING, ready=0, created_at="2023-11-14T00:00:00Z"),
        split={"dep_a": 100.0},
    )


def test_a_stuck_deployment_is_not_resolved_and_re_fired_when_another_deployment_scales() -> None:
    world = World()
    world.observe(_rollout(READY))
    world.observe(_rollout(READY), after=31 * MINUTE)
    assert world.slack.kinds() == ["firing"]
    assert [(f.kind, f.subject) for f in world.slack.delivered[0].findings] == [(FindingKind.STATE_STUCK, "dep_b")]
    for state in (SCALING, READY, SCALING, READY):
        world.observe(_rollout(state), after=5 * MINUTE)
    assert world.slack.kinds() == ["firing"]
    # Still the same alert: the reminder comes at the repeat interval, nothing resolved in between
    world.observe(_rollout(SCALING), after=4 * HOUR)
    assert world.slack.kinds() == ["firing", "reminder"]


def test_under_replicated_fires_although_the_short_deployment_keeps_moving_among_serving_states() -> None:
    world = World()
    world.observe(endpoint(deployment(state=READY, ready=2, low=2)))
    for state in (READY, SCALING, READY, SCALING, READY, SCALING, READY):  # short, moving every 2 minutes
        world.observe(endpoint(deployment(state=state, ready=1, low=2)), after=2 * MINUTE)
    assert world.slack.kinds() == ["firing"]
    assert [f.kind for f in world.slack.delivered[0].findings] == [FindingKind.UNDER_REPLICATED]


def test_alert_state_stored_before_the_clocks_keeps_the_endpoints_clock() -> None:
    world = World()
    world.observe(endpoint(deployment(state=PROVISIONING, ready=0)))
    stored = world.store.load(KEY)
    assert stored is not None and stored.state.clocks
    world.store._items[KEY].state = replace(stored.state, clocks=None)  # as an item written before them reads
    world.observe(endpoint(deployment(state=PROVISIONING, ready=0)), after=31 * MINUTE)
    assert world.slack.kinds() == ["firing"]
    assert [f.kind for f in world.slack.delivered[0].findings] == [FindingKind.STATE_STUCK]


def test_v1_and_v2_state_never_share_an_item() -> None:
    world = World()
    world.observe(_failed())
    v1 = V1Endpoint.from_json(
        '{"id": "endpoint-abc", "name": "n", "display_name": "d", "model": "m", "hardware": "h", "type": "dedicated",'
        '"owner": "o", "state": "ERROR", "autoscaling": {"min_replicas": 1, "max_replicas": 1}}'
    )
    world.recorder.record(v1)
    assert world.store.load(KEY) is not None and world.store.load("endpoint-abc") is not None
    assert world.store.load(EP2) is None
    # The same ep_ id in another project has its own state
    world.alerts.observe_v2(OTHER_PROJECT, _failed())
    assert world.store.load(f"{OTHER_PROJECT}/{EP2}") is not None
    assert [n.endpoint_id for n in world.slack.delivered] == [KEY, f"{OTHER_PROJECT}/{EP2}"]


def test_evaluate_v2_reads_the_timing_but_writes_and_sends_nothing() -> None:
    world = World()
    world.observe(endpoint(deployment(state="DEPLOYMENT_STATE_PROVISIONING", ready=0)))
    saves = world.store.saves
    world.clock.advance(31 * MINUTE)
    findings = world.recorder.evaluate_v2(endpoint(deployment(state="DEPLOYMENT_STATE_PROVISIONING", ready=0)), PROJECT)
    assert [f.kind for f in findings] == [FindingKind.STATE_STUCK]
    assert world.store.saves == saves and world.slack.delivered == [] and world.feed.calls == []


def test_a_lookup_judges_an_answer_from_the_cache_and_records_only_a_real_retrieval() -> None:
    world = World()
    # An answer from the cache is judged: the failure is found, but nothing is written or sent
    judged = world.alerts.judge_v2(PROJECT, _failed(), retrieved=False)
    assert [f.kind for f in judged] == [FindingKind.STATE_FAILED]
    assert world.store.saves == 0 and world.slack.delivered == []
    # A real retrieval of the same endpoint records the transition and notifies
    retrieved = world.alerts.judge_v2(PROJECT, _failed(), retrieved=True)
    assert retrieved == judged
    assert world.store.saves > 0 and world.slack.kinds() == ["firing"]


def test_the_policy_of_a_bare_ep_key_applies_in_the_default_project_only() -> None:
    policy = PolicyDocument.from_dict({"endpoints": {EP2: {"expected_state": "stopped"}}})
    world = World(policy)
    world.observe(endpoint(deployment()))
    world.alerts.observe_v2(OTHER_PROJECT, endpoint(deployment()))
    assert [n.endpoint_id for n in world.slack.delivered] == [KEY]
    assert world.slack.delivered[0].findings[0].kind == FindingKind.NOT_STOPPED


def test_without_a_store_the_findings_are_still_reported() -> None:
    recorder = DecisionRecorder(policy=PolicyDocument.default, store=None, sink_names=[], clock=FakeClock())
    recorded = recorder.record_v2(_failed(), PROJECT)
    assert recorded.check.endpoint_id == KEY and recorded.check.state == FAILED
    assert [f.kind for f in recorded.check.findings] == [FindingKind.STATE_FAILED] and recorded.owed is None


@pytest.mark.parametrize("key", [EP2, f"{PROJECT}/endpoint-abc", "proj_x/ep_y/z", ""])
def test_a_mute_needs_a_key_the_state_is_kept_under(key: str) -> None:
    with pytest.raises(InvalidEndpointIdError):
        World().mutes.mute(key, T0 + HOUR, "U123")
