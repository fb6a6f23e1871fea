"""The DynamoDB alert store against moto server: conditional lifecycle writes, delivery claims, mutes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from devstack.aws import aws_client, create_alert_table
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.core.alerting import (
    AlertState,
    AlertStatus,
    AlertStoreError,
    EndpointSnapshot,
    LifecycleWrite,
    MuteChange,
    Notice,
    NoticeKind,
    decide,
)
from endpoint_relay.core.deployment_clocks import DeploymentClock
from endpoint_relay.core.policy import Finding, Severity

EP = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
NOW = 1_800_000_000.0
ERROR = Finding("state_failed", Severity.CRITICAL, "failure: expected healthy, actual ERROR", "healthy", "ERROR")


@pytest.fixture(scope="module")
def dynamodb(linearizable_moto_endpoint: str) -> Iterator[Any]:
    yield aws_client("dynamodb", linearizable_moto_endpoint)


@pytest.fixture
def store(dynamodb: Any, linearizable_moto_endpoint: str) -> DynamoAlertStore:
    return DynamoAlertStore(create_alert_table(linearizable_moto_endpoint), client=dynamodb)


def _firing(now: float = NOW) -> tuple[AlertState, Notice]:
    snapshot = EndpointSnapshot(EP, "Prod", "org/m", "m", "h100", "ERROR", 1, 2, 1, None)
    decision = decide(None, snapshot, (ERROR,), now=now)
    assert decision.notice is not None
    return decision.state, decision.notice


def test_a_lifecycle_write_round_trips(store: DynamoAlertStore) -> None:
    state, notice = _firing()
    assert store.load(EP) is None
    assert store.save(EP, LifecycleWrite(state, 0, NOW, notice, ("slack", "sns")))
    stored = store.load(EP)
    assert stored is not None
    assert stored.version == 1
    assert stored.state == state
    assert stored.state.status is AlertStatus.FIRING and stored.state.findings == (ERROR,)
    assert stored.notice == notice
    assert stored.due == {"slack", "sns"}


def test_the_deployment_clocks_round_trip_and_v1_state_has_none(store: DynamoAlertStore) -> None:
    clocks = (DeploymentClock("dep_a", "DEPLOYMENT_STATE_READY", NOW, NOW + 30), DeploymentClock("dep_b", "X", NOW))
    state = AlertState(endpoint_state="dep_a=READY", state_since=NOW, clocks=clocks)
    assert store.save(EP, LifecycleWrite(state, 0, NOW))
    stored = store.load(EP)
    assert stored is not None and stored.state.clocks == clocks
    assert store.save(EP, LifecycleWrite(replace(state, clocks=None), 1, NOW))
    again = store.load(EP)
    assert again is not None and again.state.clocks is None and again.state.state_since == NOW


def test_of_two_writers_that_saw_the_same_version_only_one_wins(store: DynamoAlertStore) -> None:
    state, notice = _firing()
    # Both saw "no item yet"
    assert store.save(EP, LifecycleWrite(state, 0, NOW, notice, ("slack",))) is True
    assert store.save(EP, LifecycleWrite(state, 0, NOW, notice, ("slack",))) is False
    # Both saw version 1
    later = AlertState(status=AlertStatus.OK, endpoint_state="STARTED", state_since=NOW + 60)
    assert store.save(EP, LifecycleWrite(later, 1, NOW + 60, None, ())) is True
    assert store.save(EP, LifecycleWrite(later, 1, NOW + 60, None, ())) is False
    stored = store.load(EP)
    assert stored is not None and stored.version == 2 and stored.state.status is AlertStatus.OK


def test_a_delivery_is_claimed_by_one_owner_until_delivered(store: DynamoAlertStore) -> None:
    state, notice = _firing()
    store.save(EP, LifecycleWrite(state, 0, NOW, notice, ("slack", "sns")))

    assert store.claim(EP, "slack", notice.id, owner="a", now=NOW, lease=60) is True
    assert store.claim(EP, "slack", notice.id, owner="b", now=NOW + 1, lease=60) is False  # leased to a
    assert store.claim(EP, "sns", notice.id, owner="b", now=NOW + 1, lease=60) is True  # sinks are independent
    assert store.claim(EP, "slack", "another-notice", owner="b", now=NOW + 1, lease=60) is False

    store.mark_delivered(EP, "slack", notice.id, owner="a", now=NOW + 2)
    stored = store.load(EP)
    assert stored is not None and stored.due == {"sns"}
    # Delivered means nobody claims it again, even after the lease would have expired
    assert store.claim(EP, "slack", notice.id, owner="b", now=NOW + 3600, lease=60) is False


def test_a_released_claim_can_be_taken_again_and_an_abandoned_one_after_its_lease(store: DynamoAlertStore) -> None:
    state, notice = _firing()
    store.save(EP, LifecycleWrite(state, 0, NOW, notice, ("slack",)))
    assert store.claim(EP, "slack", notice.id, owner="a", now=NOW, lease=60)
    store.release(EP, "slack", notice.id, owner="a")  # the delivery failed
    assert store.claim(EP, "slack", notice.id, owner="b", now=NOW + 1, lease=60)  # the next sweep retries
    # b crashed mid-delivery: its lease expires and c may deliver
    assert not store.claim(EP, "slack", notice.id, owner="c", now=NOW + 30, lease=60)
    assert store.claim(EP, "slack", notice.id, owner="c", now=NOW + 62, lease=60)
    stored = store.load(EP)
    assert stored is not None and stored.due == {"slack"}


def test_a_newer_notice_voids_a_claim_on_the_older_one(store: DynamoAlertStore) -> None:
    state, first = _firing()
    store.save(EP, LifecycleWrite(state, 0, NOW, first, ("slack",)))
    assert store.claim(EP, "slack", first.id, owner="a", now=NOW, lease=60)
    newer = Notice(f"{EP}:changed:2", NoticeKind.CHANGED, first.endpoint, (ERROR,), NOW, NOW + 5)
    assert store.save(EP, LifecycleWrite(state, 1, NOW + 5, newer, ("slack",)))
    # a finishes delivering the old notice: that does not settle the new one
    store.mark_delivered(EP, "slack", first.id, owner="a", now=NOW + 6)
    stored = store.load(EP)
    assert stored is not None and stored.notice == newer and stored.due == {"slack"}
    assert store.claim(EP, "slack", newer.id, owner="b", now=NOW + 7, lease=60)


def test_a_mute_survives_lifecycle_writes_and_bumps_the_version(store: DynamoAlertStore) -> None:
    state, notice = _firing()
    store.save(EP, LifecycleWrite(state, 0, NOW, notice, ()))
    store.set_mute(EP, MuteChange(NOW + 3600, "U0123ABCD", NOW))
    stored = store.load(EP)
    assert stored is not None and stored.version == 2
    assert (stored.state.muted_until, stored.state.muted_by) == (NOW + 3600, "U0123ABCD")
    # A writer that read before the mute loses, and must look again
    assert store.save(EP, LifecycleWrite(state, 1, NOW + 1, None, ())) is False
    assert store.save(EP, LifecycleWrite(stored.state, 2, NOW + 1, None, ())) is True
    after = store.load(EP)
    assert after is not None and after.state.muted_until == NOW + 3600
    store.set_mute(EP, MuteChange(None, "U0123ABCD", NOW + 2))
    unmuted = store.load(EP)
    assert unmuted is not None and unmuted.state.muted_until is None


def test_muting_an_endpoint_never_seen_creates_its_state(store: DynamoAlertStore) -> None:
    store.set_mute(EP, MuteChange(NOW + 60, "U0123ABCD", NOW))
    stored = store.load(EP)
    assert stored is not None and stored.version == 1 and stored.state.status is AlertStatus.OK


def test_an_unreadable_item_starts_the_lifecycle_afresh(store: DynamoAlertStore, dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=store._table,
        Item={"pk": {"S": EP}, "version": {"N": "7"}, "status": {"S": "exploded"}, "findings": {"S": "{"}},
    )
    stored = store.load(EP)
    assert stored is not None and stored.version == 7 and stored.state == AlertState()


def test_a_missing_table_is_an_alert_store_error(dynamodb: Any) -> None:
    missing = DynamoAlertStore("relay-alerts-missing", client=dynamodb)
    with pytest.raises(AlertStoreError) as raised:
        missing.load(EP)
    assert raised.value.message == "ResourceNotFoundException"
