"""What a sweep costs in DynamoDB calls, counted (never timed): alert state read in batches, the shared tier
written in batches, and alert state written only when it changes."""

from __future__ import annotations

import pytest

from devstack.together_sim import TogetherSimulator, make_endpoint
from tests.integration.alerting_support import AlertingHarness

pytestmark = pytest.mark.integration

MINUTE = 60.0


def _dynamodb_calls(alerting: AlertingHarness) -> dict[str, int]:
    return {
        call.removeprefix("dynamodb."): count
        for call, count in alerting.relay.aws_calls.items()
        if call.startswith("dynamodb.")
    }


def test_a_sweep_reads_alert_state_in_batches_and_writes_only_what_changed(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    # Given 150 watched endpoints, all healthy
    ids = [f"endpoint-batch-{index:03d}" for index in range(150)]
    for endpoint_id in ids:
        together.put(make_endpoint(endpoint_id, state="STARTED"))

    # When the first sweep checks them
    first = alerting.sweep(*ids)
    first_calls = _dynamodb_calls(alerting)
    # Then their alert state was read in two BatchGetItem calls (100 + 50), not 150 GetItems (the one GetItem
    # is the sweep cursor's), the shared tier was written in six BatchWriteItem calls of 25 and no PutItem,
    # and each endpoint's first state was written once (plus the cursor's one write)
    assert first["checked"] == 150 and first["failed"] == [] and first["skipped"] == []
    assert first_calls == {"GetItem": 1, "BatchGetItem": 2, "BatchWriteItem": 6, "UpdateItem": 151}

    # When the next sweep finds nothing changed
    alerting.relay.aws_calls.clear()
    alerting.clock.advance(5 * MINUTE)
    steady = alerting.sweep(*ids)
    # Then it writes no alert state at all: only the cursor, the batch reads and the shared tier's batches
    assert steady["checked"] == 150 and steady["failed"] == []
    assert _dynamodb_calls(alerting) == {"GetItem": 1, "BatchGetItem": 2, "BatchWriteItem": 6, "UpdateItem": 1}
    assert alerting.slack_alerts() == [] and alerting.sns_alerts() == []


def test_a_change_found_by_a_batched_sweep_is_written_and_announced_once(
    alerting: AlertingHarness, together: TogetherSimulator
) -> None:
    # Given 30 healthy endpoints swept once
    ids = [f"endpoint-change-{index:02d}" for index in range(30)]
    for endpoint_id in ids:
        together.put(make_endpoint(endpoint_id, state="STARTED"))
    alerting.sweep(*ids)
    # When one of them fails, and two more sweeps run
    together.update(ids[7], state="ERROR")
    alerting.relay.aws_calls.clear()
    alerting.clock.advance(5 * MINUTE)
    firing = alerting.sweep(*ids)
    alerting.clock.advance(5 * MINUTE)
    quiet = alerting.sweep(*ids)
    # Then the failing endpoint is announced once per sink, from the state read in the batch
    assert firing["firing"] == [ids[7]] and firing["notifications_sent"] == 2
    assert quiet["notifications_sent"] == 0
    assert len(alerting.slack_alerts()) == 1 and len(alerting.sns_alerts()) == 1
    assert alerting.relay.aws_calls["dynamodb.BatchGetItem"] == 2
