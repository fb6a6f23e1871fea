"""DynamoSharedCache against DynamoDB on moto server, with the table shaped as template.yaml defines it."""

from __future__ import annotations

import json
import secrets
import socket
import zlib
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devstack.aws import REGION, aws_client, create_cache_table
from devstack.together_sim import make_endpoint
from endpoint_relay.adapters.shared_cache import DynamoSharedCache
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.lookup import SharedCacheError
from endpoint_relay.core.models import Endpoint

pytestmark = pytest.mark.integration

ENDPOINT_ID = "endpoint-d23901de-ef8f-44bf-b3e7-de9c1ca8f2d7"
T0 = 1_700_000_000.123456


@pytest.fixture
def dynamodb(moto_endpoint: str) -> Any:
    return aws_client("dynamodb", moto_endpoint)


@pytest.fixture
def table(moto_endpoint: str) -> str:
    return create_cache_table(moto_endpoint)


@pytest.fixture
def cache(dynamodb: Any, table: str) -> DynamoSharedCache:
    return DynamoSharedCache(table, client=dynamodb)


def _positive(fetched_at: float = T0, state: str = "STARTED") -> CacheEntry:
    body = json.dumps(make_endpoint(ENDPOINT_ID, state=state))
    return CacheEntry(fetched_at=fetched_at, body=body, value=Endpoint.from_json(body))


def _raw_item(dynamodb: Any, table: str, endpoint_id: str = ENDPOINT_ID) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(TableName=table, Key={"pk": {"S": endpoint_id}})["Item"]
    return item


def test_an_entry_round_trips_exactly(cache: DynamoSharedCache) -> None:
    entry = _positive()
    cache.put(ENDPOINT_ID, entry, retain_until=T0 + 900)
    assert cache.get(ENDPOINT_ID, Endpoint.from_json) == entry


def test_the_item_has_the_template_shape_and_a_ttl_after_retain_until(
    cache: DynamoSharedCache, dynamodb: Any, table: str
) -> None:
    cache.put(ENDPOINT_ID, _positive(), retain_until=T0 + 900)
    item = _raw_item(dynamodb, table)
    assert set(item) == {"pk", "fetched_at", "body", "expires_at"}
    assert item["pk"] == {"S": ENDPOINT_ID}
    assert float(item["fetched_at"]["N"]) == T0
    # DynamoDB's TTL is whole epoch seconds; rounding up never deletes an entry early.
    assert int(item["expires_at"]["N"]) > T0 + 900


def test_an_unknown_id_is_none(cache: DynamoSharedCache) -> None:
    assert cache.get("endpoint-never-stored", Endpoint.from_json) is None


def test_a_negative_entry_round_trips_without_a_body(cache: DynamoSharedCache, dynamodb: Any, table: str) -> None:
    cache.put(ENDPOINT_ID, CacheEntry(fetched_at=T0), retain_until=T0 + 10)

    entry = cache.get(ENDPOINT_ID, Endpoint.from_json)

    assert entry == CacheEntry(fetched_at=T0)
    assert entry is not None and entry.is_negative
    assert "body" not in _raw_item(dynamodb, table)


def test_an_older_write_never_replaces_a_newer_one(cache: DynamoSharedCache) -> None:
    # Given a newer answer already shared
    cache.put(ENDPOINT_ID, _positive(T0 + 10, state="STOPPED"), retain_until=T0 + 910)
    # When a slower container writes what it fetched earlier (also a remembered 404, and the same time)
    cache.put(ENDPOINT_ID, _positive(T0, state="STARTED"), retain_until=T0 + 900)
    cache.put(ENDPOINT_ID, CacheEntry(fetched_at=T0 + 5), retain_until=T0 + 15)
    cache.put(ENDPOINT_ID, _positive(T0 + 10, state="PENDING"), retain_until=T0 + 910)
    # Then the newer answer stays, and no error was raised
    entry = cache.get(ENDPOINT_ID, Endpoint.from_json)
    assert entry is not None and entry.endpoint is not None
    assert (entry.fetched_at, entry.endpoint.state) == (T0 + 10, "STOPPED")


def test_a_newer_write_replaces_an_older_one(cache: DynamoSharedCache, dynamodb: Any, table: str) -> None:
    cache.put(ENDPOINT_ID, _positive(T0), retain_until=T0 + 900)
    cache.put(ENDPOINT_ID, CacheEntry(fetched_at=T0 + 1), retain_until=T0 + 11)

    assert cache.get(ENDPOINT_ID, Endpoint.from_json) == CacheEntry(fetched_at=T0 + 1)
    assert "body" not in _raw_item(dynamodb, table)  # the old body went with the old entry


def _page(endpoints: int) -> str:
    """A list page as large as Together's: JSON that compresses as JSON does."""
    return json.dumps({"data": [make_endpoint(f"endpoint-{index:06d}-{'x' * 40}") for index in range(endpoints)]})


def test_a_body_too_large_for_an_item_as_text_is_stored_compressed(
    cache: DynamoSharedCache, dynamodb: Any, table: str
) -> None:
    # Given an answer larger than the 400 KB DynamoDB allows an item
    body = _page(1_500)
    assert len(body.encode()) > 400 * 1024
    entry = CacheEntry(fetched_at=T0, body=body, value=body)
    # When it is shared, it is stored, and read back exactly
    cache.put("v2/projects/p/endpoints?limit=100", entry, retain_until=T0 + 900)
    assert cache.get("v2/projects/p/endpoints?limit=100", str) == entry
    assert "B" in _raw_item(dynamodb, table, "v2/projects/p/endpoints?limit=100")["body"]
    # And an answer that fits stays text, as every version reads it
    cache.put(ENDPOINT_ID, _positive(), retain_until=T0 + 900)
    assert "S" in _raw_item(dynamodb, table)["body"]


def test_a_body_too_large_even_compressed_is_not_shared_and_raises_nothing(cache: DynamoSharedCache) -> None:
    body = json.dumps({"data": secrets.token_hex(400 * 1024)})  # hex compresses to half: still too large
    cache.put("v2/huge", CacheEntry(fetched_at=T0, body=body, value=body), retain_until=T0 + 900)
    assert cache.get("v2/huge", str) is None


@pytest.mark.parametrize(
    "item",
    [
        {"fetched_at": {"N": "1700000000"}, "body": {"B": b"not zlib"}},
        {"fetched_at": {"N": "1700000000"}, "body": {"B": zlib.compress(b"\xff\xfe not utf-8")}},
        {"fetched_at": {"N": "1700000000"}, "body": {"B": zlib.compress(b"[1, 2]")[:-4]}},
    ],
    ids=["not-compressed", "not-utf8", "truncated"],
)
def test_an_unreadable_binary_body_is_ignored(cache: DynamoSharedCache, dynamodb: Any, table: str, item: Any) -> None:
    dynamodb.put_item(TableName=table, Item={"pk": {"S": ENDPOINT_ID}, "expires_at": {"N": "1800000000"}, **item})
    assert cache.get(ENDPOINT_ID, Endpoint.from_json) is None


@pytest.mark.parametrize(
    "item",
    [
        {"fetched_at": {"N": "1700000000"}, "body": {"S": "<html>not json</html>"}},
        {"fetched_at": {"N": "1700000000"}, "body": {"S": "[1, 2]"}},
        {"fetched_at": {"N": "1700000000"}, "body": {"S": '{"id": "endpoint-x"}'}},
        {"fetched_at": {"N": "1700000000"}, "body": {"S": "[" * 50_000}},
        {"body": {"S": json.dumps(make_endpoint(ENDPOINT_ID))}},
        {"fetched_at": {"S": "yesterday"}, "body": {"S": json.dumps(make_endpoint(ENDPOINT_ID))}},
        {"fetched_at": {"N": "1700000000"}, "body": {"N": "42"}},
    ],
    ids=["html", "list", "no-state", "deeply-nested", "no-fetched-at", "fetched-at-string", "body-number"],
)
def test_an_unreadable_item_is_ignored(cache: DynamoSharedCache, dynamodb: Any, table: str, item: Any) -> None:
    # Given an item this version cannot read (written by hand, or by another version)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": ENDPOINT_ID}, "expires_at": {"N": "1800000000"}, **item})
    # When it is read, it is treated as absent rather than breaking the lookup
    assert cache.get(ENDPOINT_ID, Endpoint.from_json) is None


def test_an_unreadable_item_is_overwritten_by_a_newer_answer(
    cache: DynamoSharedCache, dynamodb: Any, table: str
) -> None:
    dynamodb.put_item(
        TableName=table, Item={"pk": {"S": ENDPOINT_ID}, "fetched_at": {"N": "1"}, "body": {"S": "garbage"}}
    )
    cache.put(ENDPOINT_ID, _positive(), retain_until=T0 + 900)
    assert cache.get(ENDPOINT_ID, Endpoint.from_json) == _positive()


def test_a_missing_table_is_a_shared_cache_error(dynamodb: Any) -> None:
    cache = DynamoSharedCache("relay-cache-missing", client=dynamodb)
    with pytest.raises(SharedCacheError, match="ResourceNotFoundException"):
        cache.get(ENDPOINT_ID, Endpoint.from_json)
    with pytest.raises(SharedCacheError, match="ResourceNotFoundException"):
        cache.put(ENDPOINT_ID, _positive(), retain_until=T0 + 900)


def test_an_unreachable_dynamodb_is_a_shared_cache_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(connect_timeout=0.5, retries={"total_max_attempts": 1}),
    )
    unreachable = DynamoSharedCache("relay-cache", client=client)
    with pytest.raises(SharedCacheError, match="EndpointConnectionError"):
        unreachable.get(ENDPOINT_ID, Endpoint.from_json)
    with pytest.raises(SharedCacheError, match="EndpointConnectionError"):
        unreachable.put(ENDPOINT_ID, _positive(), retain_until=T0 + 900)


def test_only_one_container_wins_the_refresh_lease_until_a_new_answer_lands(cache: DynamoSharedCache) -> None:
    # Given an entry every container sees expire at once
    cache.put(ENDPOINT_ID, _positive(T0), retain_until=T0 + 900)
    now = T0 + 31
    # When several containers claim its refresh, only the first wins
    claims = [cache.claim_refresh(ENDPOINT_ID, T0, now, now + 20) for _ in range(3)]
    assert claims == [True, False, False]
    # And once the holder writes the new answer, the lease is gone with the old item
    cache.put(ENDPOINT_ID, _positive(now), retain_until=now + 900)
    assert cache.claim_refresh(ENDPOINT_ID, now, now + 31, now + 51) is True


def test_a_lease_for_an_answer_already_replaced_is_refused(cache: DynamoSharedCache) -> None:
    cache.put(ENDPOINT_ID, _positive(T0 + 5), retain_until=T0 + 900)
    assert cache.claim_refresh(ENDPOINT_ID, T0, T0 + 40, T0 + 60) is False


def test_an_expired_lease_can_be_taken_over(cache: DynamoSharedCache) -> None:
    cache.put(ENDPOINT_ID, _positive(T0), retain_until=T0 + 900)
    assert cache.claim_refresh(ENDPOINT_ID, T0, T0 + 31, T0 + 51) is True
    assert cache.claim_refresh(ENDPOINT_ID, T0, T0 + 52, T0 + 72) is True


def test_a_lease_on_a_missing_table_is_a_shared_cache_error(dynamodb: Any) -> None:
    with pytest.raises(SharedCacheError):
        DynamoSharedCache("no-such-table", client=dynamodb).claim_refresh(ENDPOINT_ID, T0, T0, T0 + 1)
