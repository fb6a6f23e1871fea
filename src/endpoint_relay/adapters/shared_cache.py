"""Shared cache tier in DynamoDB, so warm containers share one upstream call per TTL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.cache import CacheEntry
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
        item = cache_item(key, entry, retain_until)
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


def cache_item(key: str, entry: CacheEntry[Any], retain_until: float) -> dict[str, Any]:
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
