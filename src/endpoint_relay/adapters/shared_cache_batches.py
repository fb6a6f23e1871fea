"""The shared tier's batch writes (BatchWriteItem), for the sweep's bulk answers only.

Only the sweep path imports this module, so only the roles of functions that sweep are granted
``dynamodb:BatchWriteItem`` on the cache table: an unconditional batch write (which can also delete items) is
nothing ApiFunction's lookups need.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.shared_cache import DynamoSharedCache, answer_in_hand, cache_item
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.errors import RelayError
from endpoint_relay.core.lookup import SharedCacheError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from endpoint_relay.adapters.aws_clients import LazyClient

logger = logging.getLogger(__name__)


class BatchingSharedCache(DynamoSharedCache):
    """:class:`DynamoSharedCache` that can also write many entries at once."""

    _dynamodb: LazyClient[DynamoDBClient]

    def put_many(self, entries: Sequence[tuple[str, CacheEntry[Any], float]]) -> list[str]:
        """Write ``(key, entry, retain_until)`` entries in BatchWriteItem calls of 25; the keys left unwritten.

        For answers just fetched in bulk (the pages of a list): BatchWriteItem takes no condition, so unlike
        ``put`` a write here replaces whatever the item held, even a newer answer from a racing lookup.
        Of one id given twice, the newest entry is written (a batch refuses repeated keys).
        """
        newest: dict[str, tuple[CacheEntry[Any], float]] = {}
        for key, entry, retain_until in entries:
            kept = newest.get(key)
            if kept is None or entry.fetched_at >= kept[0].fetched_at:
                newest[key] = (entry, retain_until)
        requests: list[dict[str, Any]] = []
        too_large: list[str] = []
        for key, value in newest.items():
            item = cache_item(key, *value)
            if item is None:
                too_large.append(key)  # DynamoDB would refuse the whole batch for it
            else:
                requests.append({"PutRequest": {"Item": item}})

        def send(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            request: dict[str, Any] = {self._table: chunk}
            response: Mapping[str, Any] = dynamo.call(
                lambda: self._dynamodb().batch_write_item(RequestItems=request), SharedCacheError
            )
            unprocessed: list[dict[str, Any]] = response.get("UnprocessedItems", {}).get(self._table, [])
            return unprocessed

        with answer_in_hand():
            unwritten = dynamo.batches(send, requests, dynamo.MAX_WRITE_BATCH)
        left = too_large + [str(dynamo.plain(request["PutRequest"]["Item"])["pk"]) for request in unwritten]
        if left:
            logger.warning("shared cache batch write left entries unwritten", extra={"unwritten": len(left)})
        return left


class BatchedSharedWrites:
    """The shared tier for a sweep: reads and leases as :class:`DynamoSharedCache`, puts gathered into batches.

    A sweep refreshes every target, so one conditional PutItem per answer would cost each check a round trip.
    Here the answers go out :data:`dynamo.MAX_WRITE_BATCH` at a time, from the worker that completes a batch,
    and :meth:`flush` sends the rest. The cost: a batch write takes no condition, so a lookup's answer fetched
    while a batch fills (a fraction of a second) can be replaced by the sweep's slightly older one, until the
    next refresh.
    """

    def __init__(self, cache: BatchingSharedCache) -> None:
        self._cache = cache
        self._pending: list[tuple[str, CacheEntry[Any], float]] = []
        self._lock = threading.Lock()

    def get[T](self, key: str, parse: Callable[[str], T]) -> CacheEntry[T] | None:
        return self._cache.get(key, parse)

    def claim_refresh(self, key: str, seen_fetched_at: float, now: float, until: float) -> bool:
        return self._cache.claim_refresh(key, seen_fetched_at, now, until)

    def put(self, key: str, entry: CacheEntry[Any], retain_until: float) -> None:
        with self._lock:
            self._pending.append((key, entry, retain_until))
            if len(self._pending) < dynamo.MAX_WRITE_BATCH:
                return
            batch, self._pending = self._pending, []
        self._cache.put_many(batch)

    def flush(self) -> None:
        """Write what is gathered; a failure is logged, never raised (the local tier still has every answer)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            self._cache.put_many(batch)
        except (SharedCacheError, RelayError) as exc:
            logger.warning("shared cache batch write failed", extra={"error": type(exc).__name__})
