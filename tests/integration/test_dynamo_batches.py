"""Batch reads of alert state and batch writes to the shared tier against moto server, including the parts
DynamoDB leaves unprocessed (injected by the fault proxy)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.aws import aws_client, create_alert_table, create_cache_table
from devstack.together_sim import make_endpoint
from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.alert_batches import DynamoAlertBatches
from endpoint_relay.adapters.alert_store import DynamoAlertStore
from endpoint_relay.adapters.shared_cache_batches import BatchedSharedWrites, BatchingSharedCache
from endpoint_relay.core.alert_preload import NO_STORED_ALERT, PreloadedAlert
from endpoint_relay.core.alerting import (
    AlertState,
    AlertStatus,
    AlertStoreError,
    EndpointSnapshot,
    LifecycleWrite,
    decide,
)
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.lookup import SharedCacheError
from endpoint_relay.core.models import Endpoint
from tests.integration.aws_faults import AwsFault, AwsFaultProxy

pytestmark = pytest.mark.integration

NOW = 1_800_000_000.0


def _ids(count: int, kind: str = "batch") -> list[str]:
    return [f"endpoint-{kind}-{index:04d}" for index in range(count)]


@pytest.fixture
def faults(moto_endpoint: str) -> Iterator[AwsFaultProxy]:
    with AwsFaultProxy(moto_endpoint) as proxy:
        yield proxy


@pytest.fixture
def dynamodb(faults: AwsFaultProxy) -> Any:
    """A client whose calls go through the fault proxy (which forwards them to moto until told otherwise)."""
    return aws_client("dynamodb", faults.url)


class _Store(DynamoAlertStore):
    """The store with the sweep's batch read of the same table beside it."""

    def __init__(self, table_name: str, client: Any) -> None:
        super().__init__(table_name, client=client)
        self._batches = DynamoAlertBatches(table_name, client=client)

    def load_many(self, endpoint_ids: list[str]) -> dict[str, PreloadedAlert]:
        return self._batches.load_many(endpoint_ids)


@pytest.fixture
def store(dynamodb: Any, moto_endpoint: str) -> _Store:
    return _Store(create_alert_table(moto_endpoint), dynamodb)


@pytest.fixture
def cache(dynamodb: Any, moto_endpoint: str) -> BatchingSharedCache:
    return BatchingSharedCache(create_cache_table(moto_endpoint), client=dynamodb)


def _save_ok(store: DynamoAlertStore, endpoint_id: str) -> AlertState:
    snapshot = EndpointSnapshot(endpoint_id, "Prod", "org/m", "m", "h100", "STARTED", 1, 2, 1, None)
    decision = decide(None, snapshot, (), now=NOW)
    assert store.save(endpoint_id, LifecycleWrite(decision.state, 0, NOW, None, ()))
    return decision.state


def _entry(endpoint_id: str, fetched_at: float = NOW, state: str = "STARTED") -> CacheEntry[Endpoint]:
    body = json.dumps(make_endpoint(endpoint_id, state=state))
    return CacheEntry(fetched_at=fetched_at, body=body, value=Endpoint.from_json(body))


# -- load_many ------------------------------------------------------------------------------------------------------


def test_load_many_reads_stored_and_absent_state_in_calls_of_100(store: _Store, faults: AwsFaultProxy) -> None:
    # Given 150 endpoints, of which every third has alert state
    ids = _ids(150)
    saved = {endpoint_id: _save_ok(store, endpoint_id) for endpoint_id in ids[::3]}
    # When their state is read in one go (one id given twice)
    loaded = store.load_many([*ids, ids[0]])
    # Then each endpoint has its state or NO_STORED_ALERT, from two BatchGetItem calls and no GetItem
    assert set(loaded) == set(ids)
    for endpoint_id in ids:
        if endpoint_id in saved:
            stored = loaded[endpoint_id]
            assert stored is not NO_STORED_ALERT and stored.version == 1 and stored.state == saved[endpoint_id]
        else:
            assert loaded[endpoint_id] is NO_STORED_ALERT
    assert faults.forwarded["BatchGetItem"] == 2 and faults.forwarded["GetItem"] == 0


def test_load_many_agrees_with_load(store: _Store) -> None:
    _save_ok(store, "endpoint-same")
    assert store.load_many(["endpoint-same"]) == {"endpoint-same": store.load("endpoint-same")}


def test_load_many_asks_again_for_the_keys_left_unprocessed(store: _Store, faults: AwsFaultProxy) -> None:
    # Given stored state, and DynamoDB answering the next two batch reads 30 keys at a time
    ids = _ids(100, "unprocessed")
    for endpoint_id in ids[:50]:
        _save_ok(store, endpoint_id)
    faults.leave_unprocessed(2, keep=30)
    # When the 100 are read
    loaded = store.load_many(ids)
    # Then the unprocessed keys were asked for again until all were read
    assert faults.partial["BatchGetItem"] == 2
    assert faults.forwarded["BatchGetItem"] == 3  # two answered in part, then one in full
    assert sum(stored is not NO_STORED_ALERT for stored in loaded.values()) == 50
    assert set(loaded) == set(ids)


def test_keys_still_unprocessed_after_every_attempt_are_left_out(store: _Store, faults: AwsFaultProxy) -> None:
    # Given DynamoDB processing only 5 keys of each batch read, every time
    ids = _ids(40, "starved")
    faults.leave_unprocessed(1000, keep=5)
    # When 40 are read
    loaded = store.load_many(ids)
    # Then the read gave up after BATCH_ATTEMPTS sends; the ids it never read are missing, not NO_STORED_ALERT
    assert faults.partial["BatchGetItem"] == dynamo.BATCH_ATTEMPTS
    assert loaded == dict.fromkeys(ids[: 5 * dynamo.BATCH_ATTEMPTS], NO_STORED_ALERT)


def test_a_failed_batch_read_is_an_alert_store_error(store: _Store, faults: AwsFaultProxy) -> None:
    faults.fail(AwsFault(code="AccessDeniedException", operations=frozenset({"BatchGetItem"})))
    with pytest.raises(AlertStoreError) as raised:
        store.load_many(_ids(3, "failing"))
    assert raised.value.message == "AccessDeniedException"


def test_an_unreadable_item_in_a_batch_starts_its_lifecycle_afresh(store: _Store, dynamodb: Any) -> None:
    dynamodb.put_item(
        TableName=store._table,
        Item={"pk": {"S": "endpoint-garbled"}, "version": {"N": "7"}, "status": {"S": "exploded"}},
    )
    stored = store.load_many(["endpoint-garbled"])["endpoint-garbled"]
    assert stored is not NO_STORED_ALERT and stored.version == 7 and stored.state.status is AlertStatus.OK


# -- put_many -------------------------------------------------------------------------------------------------------


def test_put_many_writes_every_entry_in_calls_of_25(cache: BatchingSharedCache, faults: AwsFaultProxy) -> None:
    # Given 60 answers (one of them a remembered 404)
    ids = _ids(60, "put")
    entries = [(endpoint_id, _entry(endpoint_id), NOW + 900) for endpoint_id in ids[:-1]]
    entries.append((ids[-1], CacheEntry(fetched_at=NOW), NOW + 10))
    # When they are written
    assert cache.put_many(entries) == []
    # Then three BatchWriteItem calls wrote them all, exactly as put() would
    assert faults.forwarded["BatchWriteItem"] == 3 and faults.forwarded["PutItem"] == 0
    for endpoint_id, entry, _ in entries:
        assert cache.get(endpoint_id, Endpoint.from_json) == entry


def test_put_many_keeps_the_newest_entry_of_an_id_given_twice(cache: BatchingSharedCache) -> None:
    older, newer = _entry("endpoint-twice", NOW, "STARTING"), _entry("endpoint-twice", NOW + 5, "STARTED")
    assert cache.put_many([("endpoint-twice", newer, NOW + 900), ("endpoint-twice", older, NOW + 900)]) == []
    assert cache.get("endpoint-twice", Endpoint.from_json) == newer


def test_put_many_sends_the_items_left_unprocessed_again(cache: BatchingSharedCache, faults: AwsFaultProxy) -> None:
    # Given DynamoDB writing only 10 items of the next two batch writes
    ids = _ids(25, "retry")
    faults.leave_unprocessed(2, keep=10)
    # When 25 entries are written
    left = cache.put_many([(endpoint_id, _entry(endpoint_id), NOW + 900) for endpoint_id in ids])
    # Then the unprocessed ones were sent again, and every entry is there
    assert left == [] and faults.partial["BatchWriteItem"] == 2
    assert all(cache.get(endpoint_id, Endpoint.from_json) is not None for endpoint_id in ids)


def test_put_many_answers_the_ids_it_could_not_write(cache: BatchingSharedCache, faults: AwsFaultProxy) -> None:
    ids = _ids(20, "unwritten")
    faults.leave_unprocessed(1000, keep=2)
    left = cache.put_many([(endpoint_id, _entry(endpoint_id), NOW + 900) for endpoint_id in ids])
    assert left == ids[2 * dynamo.BATCH_ATTEMPTS :]
    assert [cache.get(endpoint_id, Endpoint.from_json) is not None for endpoint_id in ids] == [
        index < 2 * dynamo.BATCH_ATTEMPTS for index in range(len(ids))
    ]


def test_an_entry_too_large_for_any_item_leaves_the_rest_of_its_batch_written(cache: BatchingSharedCache) -> None:
    # Given an answer DynamoDB would refuse even compressed (it refuses a whole batch for one such item)
    huge = json.dumps({"data": secrets.token_hex(400 * 1024)})
    ids = _ids(24, "beside-huge")
    entries: list[tuple[str, CacheEntry[Any], float]] = [
        ("v2/huge", CacheEntry(fetched_at=NOW, body=huge, value=huge), NOW + 900)
    ]
    entries += [(endpoint_id, _entry(endpoint_id), NOW + 900) for endpoint_id in ids]
    # When they are written in one batch, only that one is left unwritten
    assert cache.put_many(entries) == ["v2/huge"]
    assert all(cache.get(endpoint_id, Endpoint.from_json) is not None for endpoint_id in ids)


def test_a_failed_batch_write_is_a_shared_cache_error(cache: BatchingSharedCache, faults: AwsFaultProxy) -> None:
    faults.fail(AwsFault(code="AccessDeniedException", operations=frozenset({"BatchWriteItem"})))
    with pytest.raises(SharedCacheError):
        cache.put_many([("endpoint-x", _entry("endpoint-x"), NOW + 900)])


# -- the sweep's batched shared tier ---------------------------------------------------------------------------------


def test_batched_writes_go_out_25_at_a_time_and_flush_sends_the_rest(
    cache: BatchingSharedCache, faults: AwsFaultProxy
) -> None:
    writes = BatchedSharedWrites(cache)
    ids = _ids(30, "buffered")
    for endpoint_id in ids:
        writes.put(endpoint_id, _entry(endpoint_id), NOW + 900)
    assert faults.forwarded["BatchWriteItem"] == 1
    assert cache.get(ids[24], Endpoint.from_json) is not None and cache.get(ids[25], Endpoint.from_json) is None
    writes.flush()
    writes.flush()  # nothing left: no call
    assert faults.forwarded["BatchWriteItem"] == 2 and faults.forwarded["PutItem"] == 0
    assert all(writes.get(endpoint_id, Endpoint.from_json) is not None for endpoint_id in ids)


def test_a_failed_flush_is_logged_not_raised(cache: BatchingSharedCache, faults: AwsFaultProxy) -> None:
    writes = BatchedSharedWrites(cache)
    writes.put("endpoint-lost", _entry("endpoint-lost"), NOW + 900)
    faults.fail(AwsFault(code="AccessDeniedException", operations=frozenset({"BatchWriteItem"})))
    writes.flush()
    faults.heal()
    assert cache.get("endpoint-lost", Endpoint.from_json) is None
