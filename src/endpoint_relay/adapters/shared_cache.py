"""Shared cache tier in DynamoDB, so warm containers share one upstream call per TTL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.errors import RelayError
from endpoint_relay.core.lookup import SharedCacheError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)


class DynamoSharedCache:
    """Items: ``pk`` (the resource's cache key), ``fetched_at``, ``body`` (absent for a remembered 404), ``expires_at``.

    A key is a v1 endpoint id or a v2 request (``v2/projects/...``); each caller reads the body with its own parser.
    """

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    def get[T](self, key: str, parse: Callable[[str], T]) -> CacheEntry[T] | None:
        pk = dynamo.attributes({"pk": key})
        response = dynamo.call(lambda: self._dynamodb().get_item(TableName=self._table, Key=pk), SharedCacheError)
        item = response.get("Item")
        return _entry(item, parse) if item else None

    def put(self, key: str, entry: CacheEntry[Any], retain_until: float) -> None:
        item = _item(key, entry, retain_until)
        # Keep the newest answer when containers race to write the same id.
        dynamo.write_if(
            lambda: self._dynamodb().put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR fetched_at < :fetched_at",
                ExpressionAttributeValues=dynamo.attributes({":fetched_at": entry.fetched_at}),
            ),
            SharedCacheError,
        )

    def put_many(self, entries: Sequence[tuple[str, CacheEntry[Any], float]]) -> list[str]:
        """Write ``(key, entry, retain_until)`` entries in BatchWriteItem calls of 25; the keys left unwritten.

        For answers just fetched in bulk (the pages of a list): BatchWriteItem takes no condition, so unlike
        :meth:`put` a write here replaces whatever the item held, even a newer answer from a racing lookup.
        Of one id given twice, the newest entry is written (a batch refuses repeated keys).
        """
        newest: dict[str, tuple[CacheEntry[Any], float]] = {}
        for key, entry, retain_until in entries:
            kept = newest.get(key)
            if kept is None or entry.fetched_at >= kept[0].fetched_at:
                newest[key] = (entry, retain_until)
        requests = [{"PutRequest": {"Item": _item(key, *value)}} for key, value in newest.items()]

        def send(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            request: dict[str, Any] = {self._table: chunk}
            response: Mapping[str, Any] = dynamo.call(
                lambda: self._dynamodb().batch_write_item(RequestItems=request), SharedCacheError
            )
            unprocessed: list[dict[str, Any]] = response.get("UnprocessedItems", {}).get(self._table, [])
            return unprocessed

        unwritten = dynamo.batches(send, requests, dynamo.MAX_WRITE_BATCH)
        left = [str(dynamo.plain(request["PutRequest"]["Item"])["pk"]) for request in unwritten]
        if left:
            logger.warning("shared cache batch write left entries unwritten", extra={"unwritten": len(left)})
        return left

    def claim_refresh(self, key: str, seen_fetched_at: float, now: float, until: float) -> bool:
        """A lease on refreshing one expired entry; the next put (a whole new item) ends it."""
        return dynamo.write_if(
            lambda: self._dynamodb().update_item(
                TableName=self._table,
                Key=dynamo.attributes({"pk": key}),
                UpdateExpression="SET refresh_until = :until",
                ConditionExpression=(
                    "fetched_at = :seen AND (attribute_not_exists(refresh_until) OR refresh_until < :now)"
                ),
                ExpressionAttributeValues=dynamo.attributes({":seen": seen_fetched_at, ":now": now, ":until": until}),
            ),
            SharedCacheError,
        )


class BatchedSharedWrites:
    """The shared tier for a sweep: reads and leases as :class:`DynamoSharedCache`, puts gathered into batches.

    A sweep refreshes every target, so one conditional PutItem per answer would cost each check a round trip.
    Here the answers go out :data:`dynamo.MAX_WRITE_BATCH` at a time, from the worker that completes a batch,
    and :meth:`flush` sends the rest. The cost: a batch write takes no condition, so a lookup's answer fetched
    while a batch fills (a fraction of a second) can be replaced by the sweep's slightly older one, until the
    next refresh.
    """

    def __init__(self, cache: DynamoSharedCache) -> None:
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


def _item(key: str, entry: CacheEntry[Any], retain_until: float) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": key, "fetched_at": entry.fetched_at, "expires_at": int(retain_until) + 1}
    if entry.body is not None:
        item["body"] = entry.body
    return dynamo.attributes(item)


def _entry[T](raw: dict[str, Any], parse: Callable[[str], T]) -> CacheEntry[T] | None:
    item = dynamo.plain(raw)
    fetched_at = dynamo.number(item.get("fetched_at"))
    body = item.get("body")
    # A body of another type is unreadable, not a remembered 404.
    if fetched_at is None or not (body is None or isinstance(body, str)):
        logger.warning("ignoring an unreadable shared cache item")
        return None
    if body is None:
        return CacheEntry(fetched_at=fetched_at)
    try:
        return CacheEntry(fetched_at=fetched_at, body=body, value=parse(body))
    except ValueError:  # the parsers' errors (EndpointParseError, V2ParseError) are ValueErrors
        logger.warning("ignoring an unreadable shared cache item")
        return None
