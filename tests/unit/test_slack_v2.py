"""The slash command on v2 endpoints with in-memory fakes: status, check and mute through the application layer."""

from __future__ import annotations

import json
from typing import Any

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.endpoint_status import EndpointStatus
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.mutes import Mutes
from endpoint_relay.app.reasons import EventReasons
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.app.slack_commands import SlackCommands
from endpoint_relay.core import slack_replies
from endpoint_relay.core.cache import CachePolicy, LocalCache
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.leases import LocalLeases
from endpoint_relay.core.lookup import LookupService
from endpoint_relay.core.policy import PolicyDocument
from endpoint_relay.core.slack_commands import Projects, SlashRequest
from endpoint_relay.core.slack_followup import FollowUp
from endpoint_relay.core.v2_models import Endpoint
from endpoint_relay.core.v2_request import V2Request, V2Resource
from endpoint_relay.core.v2_resources import not_found
from tests.fakes import FakeClock, FakeEventFeed, FakeSecrets, FakeUpstream
from tests.unit.alerting_fakes import MemoryAlertStore, RecordingSink
from tests.unit.block_kit_limits import assert_within_block_kit_limits
from tests.unit.v2_builders import DEGRADED, EP2, FAILED, OTHER_PROJECT, PROJECT, deployment, endpoint

KEY = f"{PROJECT}/{EP2}"
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/x"
POLICY = CachePolicy(fresh_ttl=30, stale_window=600, negative_ttl=10)


class FakeV2Source:
    """Together's v2 endpoint reads in memory; every call is counted."""

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], Endpoint] = {}
        self.calls: list[str] = []

    def put(self, subject: Endpoint, project_id: str = PROJECT) -> None:
        self.endpoints[(project_id, subject.id)] = subject

    def get_v2(self, request: V2Request, api_key: str) -> tuple[str, Any]:
        self.calls.append(request.path)
        assert request.resource is V2Resource.ENDPOINT
        found = self.endpoints.get((request.project_id or "", request.endpoint_id or ""))
        if found is None:
            raise not_found(request)
        return json.dumps({"id": found.id}), found


class FakeQueue:
    def __init__(self) -> None:
        self.queued: list[FollowUp] = []

    def is_allowed(self, response_url: str) -> bool:
        return response_url.startswith("https://hooks.slack.com/")

    def enqueue(self, followup: FollowUp) -> bool:
        self.queued.append(followup)
        return True


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = MemoryAlertStore()
        self.slack = RecordingSink("slack")
        self.feed = FakeEventFeed()
        self.source = FakeV2Source()
        deadline = Deadline(clock=self.clock)
        reasons = EventReasons(self.feed, lambda: "feed-key", deadline, call_seconds=5.0)
        document = PolicyDocument.default()
        recorder = DecisionRecorder(
            policy=lambda: document,
            store=self.store,
            sink_names=["slack"],
            clock=self.clock,
            reasons=reasons,
            default_project=PROJECT,
        )
        dispatcher = NoticeDispatcher(
            store=self.store,
            sinks=[self.slack],
            clock=self.clock,
            deadline=deadline,
            lease_seconds=60,
            budget_seconds=0,
        )
        self.mutes = Mutes(store=self.store, sink_names=["slack"], clock=self.clock)
        lookups = LookupService(
            upstream=FakeUpstream(), secrets=FakeSecrets(), policy=POLICY, local=LocalCache(), clock=self.clock
        )
        self.status = EndpointStatus(
            lookups=lookups,
            v2_source=self.source,
            alerts=LookupAlerts(recorder=recorder, dispatcher=dispatcher),
            mutes=self.mutes,
            projects=frozenset({PROJECT}),
        )
        self.queue = FakeQueue()
        self.commands = SlackCommands(
            status=self.status,
            mutes=self.mutes,
            dispatcher=dispatcher,
            followups=self.queue,
            allowed_team_ids=(),
            mute_user_ids=("U0ONCALL",),
            check_leases=LocalLeases(clock=self.clock),
            check_cooldown=300,
            projects=Projects(default=PROJECT, allowed=frozenset({PROJECT})),
            clock=self.clock,
        )

    def answer(self, text: str) -> slack_replies.Reply:
        request = SlashRequest("/together", text, "T0001", "", "U0ONCALL", RESPONSE_URL, "req-1")
        return self.commands.answer(request)


def _text(reply: slack_replies.Reply) -> str:
    return json.dumps(reply, ensure_ascii=False)


def _two_deployments() -> Endpoint:
    return endpoint(
        deployment("dep_live", ready=2, low=2, high=4),
        deployment("dep_canary", state=DEGRADED, ready=1, low=1, high=2),
        split={"dep_live": 90.0, "dep_canary": 10.0},
    )


def test_status_of_an_uncached_ep_id_is_deferred_under_its_project_key_without_an_upstream_call() -> None:
    world = World()
    world.source.put(_two_deployments())
    # When someone asks for a bare ep_ id nobody has looked up
    reply = world.answer(f"status {EP2}")
    # Then it is acknowledged, and the worker is asked about proj_…/ep_…
    assert "Checking" in _text(reply)
    [followup] = world.queue.queued
    assert (followup.kind, followup.endpoint_id) == ("status", KEY)
    assert world.source.calls == []
    # And the follow-up crosses the process boundary intact
    assert FollowUp.from_event(followup.event()) == followup


def test_the_worker_answers_with_a_line_per_deployment_and_then_the_cache_answers_at_once() -> None:
    world = World()
    world.source.put(_two_deployments())
    # When the worker fetches the endpoint
    reply = world.status.fetched(KEY)
    text = _text(reply)
    # Then the reply lists both deployments with their weights, and the DEGRADED one's finding
    assert "dep_live" in text and "dep_canary" in text
    assert "DEGRADED" in text and "90" in text
    assert len(world.source.calls) == 1
    # And the next status is answered from the cache, in Slack's 3 seconds, without another call
    again = world.answer(f"status {KEY}")
    assert "dep_canary" in _text(again)
    assert world.queue.queued == [] and len(world.source.calls) == 1


def test_a_failed_deployment_notifies_once_whether_by_status_or_check() -> None:
    world = World()
    world.source.put(endpoint(deployment(state=FAILED, ready=0)))
    world.feed.add("LEVEL_ERROR", "Readiness probe failed")
    # When the worker answers a status (a real retrieval), then a cached status, then a check
    world.status.fetched(KEY)
    world.status.fetched(KEY)
    world.clock.advance(60)
    checked = world.status.fetched(KEY, check=True)
    # Then one notice, quoting the events feed; the check fetched afresh and found it already announced
    assert world.slack.kinds() == ["firing"]
    assert "Readiness probe failed" in json.dumps([str(n) for n in world.slack.delivered])
    assert len(world.source.calls) == 2
    assert "FAILED" in _text(checked)


def test_check_of_one_endpoint_is_deferred_and_held_to_a_cooldown_per_endpoint() -> None:
    world = World()
    first = world.answer(f"check {EP2}")
    assert "Checking" in _text(first)
    assert [(f.kind, f.endpoint_id) for f in world.queue.queued] == [("check", KEY)]
    # A second check of the same endpoint within the cooldown is refused; another endpoint, or all, is not
    busy = world.answer(f"check {KEY}")
    assert "was checked" in _text(busy) and len(world.queue.queued) == 1
    world.answer("check ep_another1")
    world.answer("check")
    assert [f.endpoint_id for f in world.queue.queued] == [KEY, f"{PROJECT}/ep_another1", None]


def test_mute_of_an_ep_id_holds_its_project_key_and_status_shows_it() -> None:
    world = World()
    world.source.put(endpoint(deployment(state=FAILED, ready=0)))
    reply = world.answer(f"mute {EP2} 2h")
    assert KEY in _text(reply)
    assert world.mutes.muted_until(KEY) == world.clock() + 7200
    # While muted a failure is not announced, and the status says it is muted
    status = world.status.fetched(KEY)
    assert world.slack.kinds() == []
    assert "muted until" in _text(status)
    world.answer(f"unmute {KEY}")
    assert world.mutes.muted_until(KEY) is None


def test_an_unknown_endpoint_and_an_unserved_project_get_polite_answers() -> None:
    world = World()
    assert "does not know" in _text(world.status.fetched(KEY))
    # A follow-up naming a project the relay does not serve is refused before any call
    refused = world.status.fetched(f"{OTHER_PROJECT}/{EP2}")
    assert "does not serve" in _text(refused)
    assert world.source.calls == [f"/projects/{PROJECT}/endpoints/{EP2}"]
    # And in the acknowledgement, the parser refuses it (no follow-up, no call)
    reply = world.answer(f"status {OTHER_PROJECT}/{EP2}")
    assert "does not serve that project" in _text(reply)
    assert world.queue.queued == []


def test_a_follow_up_event_names_a_v1_id_or_a_project_key_and_nothing_else() -> None:
    def event(kind: str, endpoint_id: object) -> dict[str, object]:
        base = FollowUp("check", RESPONSE_URL, "U0ONCALL", "T0001").event()
        return {**base, "command": kind, "endpoint_id": endpoint_id}

    assert FollowUp.from_event(event("status", KEY)) is not None
    assert FollowUp.from_event(event("check", KEY)) is not None
    sweep = FollowUp.from_event(event("check", None))
    assert sweep is not None and sweep.endpoint_id is None
    # A bare ep_ (no project), a path, a hostile id or a non-string is not a follow-up
    for bad in (EP2, f"{KEY}/events", "proj_x/../ep_y", "<!channel>", 7, ""):
        assert FollowUp.from_event(event("status", bad)) is None, bad
        assert FollowUp.from_event(event("check", bad)) is None, bad
    assert FollowUp.from_event(event("status", None)) is None


def test_help_and_the_busy_reply_name_the_v2_forms_within_block_kit_limits() -> None:
    helped = slack_replies.help_reply("/together")
    assert "`ep_…`" in _text(helped) and "`proj_…/ep_…`" in _text(helped)
    assert "check [&lt;endpoint-id&gt;]" in _text(helped)
    busy = slack_replies.check_busy_reply(300, KEY)
    assert f"`{KEY}`" in _text(busy) and "5m" in _text(busy)
    for reply in (helped, busy):
        assert_within_block_kit_limits(reply["blocks"])
