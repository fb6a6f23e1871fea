"""Hourly cost in notices and status replies: frozen when a notice is issued, shown in Slack, SNS and replies."""

from __future__ import annotations

import json
from dataclasses import replace

from endpoint_relay.app.dispatcher import NoticeDispatcher
from endpoint_relay.app.lookup_alerts import LookupAlerts
from endpoint_relay.app.recorder import DecisionRecorder
from endpoint_relay.core import sns_message
from endpoint_relay.core.alerting import EndpointSnapshot, Notice, NoticeKind
from endpoint_relay.core.cost import Spend
from endpoint_relay.core.cost_words import spend_words, total_words
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.models import Endpoint as V1Endpoint
from endpoint_relay.core.notice_cost import endpoint_cost, priced
from endpoint_relay.core.policy import Expectations, PolicyDocument
from endpoint_relay.core.policy_v2 import evaluate_v2
from endpoint_relay.core.prices import FixedPrices, PriceBook
from endpoint_relay.core.slack_blocks import notice_blocks, render_messages
from endpoint_relay.core.slack_replies import status_reply, v2_status_reply
from endpoint_relay.core.v2_notice import MAX_DEPLOYMENTS_SHOWN
from tests.fakes import T0, FakeClock
from tests.unit.alerting_fakes import MemoryAlertStore, RecordingSink
from tests.unit.block_kit_limits import assert_within_block_kit_limits
from tests.unit.v2_builders import DEGRADED, FAILED, PROJECT, READY, deployment, endpoint

HW = "2x_nvidia_h100_80gb_sxm"  # the builders' hardware
PRICES = FixedPrices(v2=PriceBook({HW: 3192}), v1=PriceBook({"h100": 349}))
CONSOLE = "https://api.together.ai/endpoints/ep"
HOUR = 3600.0


class CountingPrices:
    """FixedPrices that counts the questions asked."""

    def __init__(self, prices: FixedPrices = PRICES) -> None:
        self.prices = prices
        self.asked: list[str | None] = []

    def cents_per_hour(self, hardware: str | None, *, v1: bool = False) -> int | None:
        self.asked.append(hardware)
        return self.prices.cents_per_hour(hardware, v1=v1)

    def fresh_only(self) -> CountingPrices:
        return self


def _v1(state: str = "STARTED", hardware: str = "h100") -> V1Endpoint:
    return V1Endpoint.from_dict(
        {
            "id": "endpoint-abc",
            "name": "org/m",
            "display_name": "Prod",
            "model": "m",
            "hardware": hardware,
            "state": state,
            "autoscaling": {"min_replicas": 2, "max_replicas": 4},
        }
    )


def _v2_notice(
    *deployments: dict[str, object], prices: FixedPrices = PRICES, kind: NoticeKind = NoticeKind.FIRING
) -> Notice:
    subject = endpoint(*deployments)
    findings = evaluate_v2(subject, None, Expectations(), state_since=T0, now=T0)
    snapshot = priced(EndpointSnapshot.of_v2(subject, PROJECT, None, Expectations(), findings), prices)
    return Notice(f"{snapshot.key}:{kind.value}:1", kind, snapshot, findings, opened_at=T0, created_at=T0)


def _failed_holding_three() -> Notice:
    return _v2_notice(deployment("dep_failed", state=FAILED, ready=3, low=3, high=3))


def _text(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# -- the words ------------------------------------------------------------------------------------------------------


def test_the_words_for_one_deployment_and_for_several() -> None:
    three = Spend(HW, 3, 3192, max_replicas=5)
    assert spend_words(three) == "$95.76/h, up to $159.60/h at 5 replicas"
    assert spend_words(Spend(HW, 3, None, max_replicas=5)) == "price unknown"
    assert spend_words(Spend(HW, 0, None, max_replicas=0)) == "$0.00/h"
    assert total_words([three, Spend(HW, 1, 349, max_replicas=1)]) == "$99.25/h, up to $163.09/h at max replicas"
    assert total_words([Spend(HW, 3, 3192, 3), Spend(HW, 1, 349, 1)]) == "$99.25/h"
    assert total_words([three, Spend("x", 1, None)]) == "$95.76/h + price unknown for 1 deployment(s)"
    assert total_words([Spend("x", 1, None), Spend("y", 2, None)]) == "price unknown"
    # A ceiling at an unknown price is not guessed
    assert total_words([three, Spend("x", 0, None, max_replicas=2)]) == "$95.76/h"


# -- what a notice freezes ------------------------------------------------------------------------------------------


def test_a_notice_freezes_each_deployments_price_and_round_trips() -> None:
    notice = _failed_holding_three()
    [frozen] = notice.endpoint.deployments
    assert frozen.price_cents_per_hour == 3192
    assert Notice.from_json(notice.to_json()) == notice
    assert endpoint_cost(notice.endpoint) == "$95.76/h"


def test_a_v1_notice_is_priced_at_min_replicas_as_an_estimate() -> None:
    snapshot = priced(EndpointSnapshot.of(_v1(), Expectations()), PRICES)
    assert snapshot.price_cents_per_hour == 349
    assert endpoint_cost(snapshot) == "at least $6.98/h, up to $13.96/h at 4 replicas"
    stopped = priced(EndpointSnapshot.of(_v1("STOPPED"), Expectations()), PRICES)
    assert endpoint_cost(stopped).startswith("$0.00/h")


def test_a_notice_stored_before_prices_reads_back_as_price_unknown() -> None:
    document = json.loads(_failed_holding_three().to_json())
    for item in document["endpoint"]["deployments"]:
        del item["price_cents_per_hour"]
    del document["endpoint"]["price_cents_per_hour"]
    old = Notice.from_json(json.dumps(document))
    assert old.endpoint.deployments[0].price_cents_per_hour is None
    assert endpoint_cost(old.endpoint) == "price unknown"
    assert "price unknown" in _text(notice_blocks(old, CONSOLE))


def test_a_deployment_holding_replicas_outside_the_split_is_named_and_counted() -> None:
    subject = endpoint(
        deployment("dep_live", ready=2, low=2, high=2),
        deployment("dep_old", ready=1, low=1, high=1),
        split={"dep_live": 100},
    )
    snapshot = priced(EndpointSnapshot.of_v2(subject, PROJECT, None, Expectations(), ()), PRICES)
    assert [d.id for d in snapshot.deployments] == ["dep_live", "dep_old"]
    assert endpoint_cost(snapshot) == "$95.76/h"


# -- Slack, SNS -----------------------------------------------------------------------------------------------------


def test_slack_shows_the_cost_and_that_a_failed_deployment_pays_for_replicas_that_do_not_serve() -> None:
    blocks = notice_blocks(_failed_holding_three(), CONSOLE)
    text = _text(blocks)
    assert "*Cost*\\n$95.76/h" in text
    assert "failed, yet still holds 3 replica(s) billing $95.76/h that do not serve" in text
    assert_within_block_kit_limits(blocks)


def test_a_degraded_deployment_says_so_and_shows_its_ceiling() -> None:
    text = _text(notice_blocks(_v2_notice(deployment("dep_d", state=DEGRADED, ready=1, low=3, high=4)), CONSOLE))
    assert "$31.92/h, up to $127.68/h at 4 replicas" in text
    assert "degraded, yet still holds 1 replica(s) billing $31.92/h" in text


def test_an_unknown_price_never_fails_a_notice() -> None:
    notice = _v2_notice(deployment("dep_failed", state=FAILED, ready=3), prices=FixedPrices())
    blocks = notice_blocks(notice, CONSOLE)
    assert "price unknown" in _text(blocks)
    assert "billing an unknown price" in _text(blocks)
    description = json.loads(sns_message.build(notice, CONSOLE).message)["content"]["description"]
    assert "*Cost:* price unknown" in description


def test_sns_shows_the_cost_per_deployment_and_for_the_endpoint() -> None:
    description = json.loads(sns_message.build(_failed_holding_three(), CONSOLE).message)["content"]["description"]
    assert "*Cost:* $95.76/h" in description
    assert "failed, yet still holds 3 replica(s) billing $95.76/h" in description


def test_resolved_and_reminder_notices_show_the_cost_too() -> None:
    for kind in (NoticeKind.RESOLVED, NoticeKind.REMINDER, NoticeKind.CHANGED):
        notice = _v2_notice(deployment("dep_main", ready=2, low=2, high=4), kind=kind)
        assert "$63.84/h, up to $127.68/h" in _text(notice_blocks(notice, CONSOLE))


def test_ten_costed_deployments_stay_within_block_kit_and_sns_limits() -> None:
    hostile = "<!channel> *x* `t` " * 20
    deployments = [
        deployment(f"dep_{i:02d}", state=FAILED, ready=99, low=99, high=999, name=hostile, hardware=HW)
        for i in range(MAX_DEPLOYMENTS_SHOWN + 2)
    ]
    notice = _v2_notice(*deployments)
    assert len(notice.endpoint.deployments) == MAX_DEPLOYMENTS_SHOWN
    for message in render_messages([notice] * 3, lambda _: CONSOLE):
        assert_within_block_kit_limits(message.payload["blocks"])
    built = sns_message.build(notice, CONSOLE)
    assert len(json.loads(built.message)["content"]["description"]) <= 3500


# -- status replies -------------------------------------------------------------------------------------------------


def test_status_replies_show_the_cost() -> None:
    v1 = _text(status_reply(_v1(), [], age_seconds=1, price_cents_per_hour=349)["blocks"])
    assert "at least $6.98/h, up to $13.96/h at 4 replicas" in v1
    assert "price unknown" in _text(status_reply(_v1(), [], age_seconds=1)["blocks"])
    subject = endpoint(deployment("dep_failed", state=FAILED, ready=3, low=3, high=3))
    v2 = _text(v2_status_reply(subject, None, [], age_seconds=1, prices=PRICES)["blocks"])
    assert "$95.76/h" in v2 and "still holds 3 replica(s)" in v2
    assert "price unknown" in _text(v2_status_reply(subject, None, [], age_seconds=1)["blocks"])


# -- when prices are asked for --------------------------------------------------------------------------------------


def test_prices_are_asked_for_only_when_a_notice_is_issued() -> None:
    clock, store, slack, prices = FakeClock(), MemoryAlertStore(), RecordingSink("slack"), CountingPrices()
    recorder = DecisionRecorder(
        policy=PolicyDocument.default,
        store=store,
        sink_names=["slack"],
        clock=clock,
        repeat_interval=4 * HOUR,
        prices=prices,
    )
    dispatcher = NoticeDispatcher(
        store=store, sinks=[slack], clock=clock, deadline=Deadline(clock=clock), lease_seconds=60, budget_seconds=0
    )
    alerts = LookupAlerts(recorder=recorder, dispatcher=dispatcher)
    healthy = endpoint(deployment("dep_main", state=READY))
    # A healthy endpoint, looked up again and again, fires nothing and asks no price
    for _ in range(3):
        alerts.observe_v2(PROJECT, healthy)
        clock.advance(60)
    assert prices.asked == []
    # When it fails holding replicas, the notice is priced
    alerts.observe_v2(PROJECT, endpoint(deployment("dep_main", state=FAILED, ready=3, low=3, high=3)))
    [notice] = slack.delivered
    assert notice.endpoint.deployments[0].price_cents_per_hour == 3192
    assert prices.asked == [HW]
    # And its resolution is priced afresh
    alerts.observe_v2(PROJECT, healthy)
    assert [n.kind for n in slack.delivered] == [NoticeKind.FIRING, NoticeKind.RESOLVED]
    assert endpoint_cost(slack.delivered[-1].endpoint) == "$63.84/h, up to $127.68/h at 4 replicas"


def test_a_mute_announcement_is_not_priced() -> None:
    notice = Notice.mute_change(f"{PROJECT}/ep_x", T0 + HOUR, actor="U1", now=T0)
    assert "Cost" not in _text(notice_blocks(replace(notice), CONSOLE))
