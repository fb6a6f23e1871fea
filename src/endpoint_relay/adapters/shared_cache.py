"""Shared cache tier in DynamoDB, so warm containers share one upstream call per TTL."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.errors import DeadlineExceededError
from endpoint_relay.core.lookup import SharedCacheError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

ITEM_MAX_BYTES = 400 * 1024
"""DynamoDB's limit on one item, attribute names and values included."""
_ITEM_OVERHEAD_BYTES = 128
"""The attributes besides ``pk`` and ``body``, names included, with room to spare."""
_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Beyond any body the relay accepts from Together (UPSTREAM_MAX_RESPONSE_BYTES stops at 10 MiB)."""


class DynamoSharedCache:
    """Items: ``pk`` (the resource's cache key), ``fetched_at``, ``body`` (absent for a remembered 404), ``expires_at``.

    A key is a v1 endpoint id or a v2 request (``v2/projects/...``); each caller reads the body with its own parser.
    A body too large for an item as text (a v2 list page of 100 endpoints is about 600 KB) is stored zlib-compressed,
    as a binary ``body``, which versions before this one ignore as unreadable; one too large even so is not shared.
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
        if item is None:
            return
        # Keep the newest answer when containers race to write the same id.
        with answer_in_hand():
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


@contextmanager
def answer_in_hand() -> Iterator[None]:
    """A write of an answer already fetched: no time left for it is a shared-tier failure, not the caller's.

    Otherwise a slow but successful upstream answer, with less than one AWS call's worst case left, became a 504.
    """
    try:
        yield
    except DeadlineExceededError:
        raise SharedCacheError("no time left to share the answer") from None


def cache_item(key: str, entry: CacheEntry[Any], retain_until: float) -> dict[str, Any] | None:
    """The entry as an item, or None when it cannot fit in one (DynamoDB would refuse it, every time)."""
    item: dict[str, Any] = {"pk": key, "fetched_at": entry.fetched_at, "expires_at": int(retain_until) + 1}
    if entry.body is not None:
        room = ITEM_MAX_BYTES - _ITEM_OVERHEAD_BYTES - len(key.encode("utf-8"))
        text = entry.body.encode("utf-8")
        if len(text) <= room:
            item["body"] = entry.body
        else:
            packed = zlib.compress(text)
            if len(packed) > room:
                logger.info("an answer too large for the shared cache is kept locally", extra={"bytes": len(text)})
                return None
            item["body"] = packed
    return dynamo.attributes(item)


def _entry[T](raw: dict[str, Any], parse: Callable[[str], T]) -> CacheEntry[T] | None:
    item = dynamo.plain(raw)
    fetched_at = dynamo.number(item.get("fetched_at"))
    body = _inflated(item.get("body"))
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


def _inflated(body: Any) -> Any:
    """A binary body (see :class:`DynamoSharedCache`) as its text; anything else as it is."""
    packed = getattr(body, "value", None)  # boto3's Binary
    if not isinstance(packed, bytes):
        return body
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(packed, _MAX_BODY_BYTES)
        if not inflater.eof:
            return packed  # cut short or over the cap: unreadable, like any other bytes
        return text.decode("utf-8")
    except (zlib.error, UnicodeDecodeError):
        return packed
