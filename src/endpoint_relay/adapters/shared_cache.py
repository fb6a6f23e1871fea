"""Shared cache tier in DynamoDB, so warm containers share one upstream call per TTL."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.core.cache import CacheEntry
from endpoint_relay.core.lookup import SharedCacheError
from endpoint_relay.core.models import Endpoint, EndpointParseError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)


class DynamoSharedCache:
    """Items: ``pk`` (endpoint id), ``fetched_at``, ``body`` (absent for a remembered 404), ``expires_at`` (TTL)."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client = client

    @property
    def _dynamodb(self) -> DynamoDBClient:
        if self._client is None:
            self._client = aws_clients.client("dynamodb")
        return self._client

    def get(self, endpoint_id: str) -> CacheEntry | None:
        try:
            item = self._dynamodb.get_item(TableName=self._table, Key={"pk": {"S": endpoint_id}}).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise SharedCacheError(aws_clients.error_code(exc)) from None
        if not item:
            return None
        return _entry(item)

    def put(self, endpoint_id: str, entry: CacheEntry, retain_until: float) -> None:
        item: dict[str, Any] = {
            "pk": {"S": endpoint_id},
            "fetched_at": {"N": repr(entry.fetched_at)},
            "expires_at": {"N": str(int(retain_until) + 1)},
        }
        if entry.body is not None:
            item["body"] = {"S": entry.body}
        try:
            # Keep the newest answer when containers race to write the same id.
            self._dynamodb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR fetched_at < :fetched_at",
                ExpressionAttributeValues={":fetched_at": item["fetched_at"]},
            )
        except ClientError as exc:
            if aws_clients.error_code(exc) == "ConditionalCheckFailedException":
                return
            raise SharedCacheError(aws_clients.error_code(exc)) from None
        except BotoCoreError as exc:
            raise SharedCacheError(aws_clients.error_code(exc)) from None

    def claim_refresh(self, endpoint_id: str, seen_fetched_at: float, now: float, until: float) -> bool:
        """A lease on refreshing one expired entry; the next put (a whole new item) ends it."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": endpoint_id}},
                UpdateExpression="SET refresh_until = :until",
                ConditionExpression=(
                    "fetched_at = :seen AND (attribute_not_exists(refresh_until) OR refresh_until < :now)"
                ),
                ExpressionAttributeValues={
                    ":seen": {"N": repr(seen_fetched_at)},
                    ":now": {"N": repr(now)},
                    ":until": {"N": repr(until)},
                },
            )
        except ClientError as exc:
            if aws_clients.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise SharedCacheError(aws_clients.error_code(exc)) from None
        except BotoCoreError as exc:
            raise SharedCacheError(aws_clients.error_code(exc)) from None
        return True


def _entry(item: dict[str, Any]) -> CacheEntry | None:
    try:
        fetched_at = float(item["fetched_at"]["N"])
        if "body" not in item:
            return CacheEntry(fetched_at=fetched_at)
        body = item["body"]["S"]  # a body of another type is unreadable, not a remembered 404
        return CacheEntry(fetched_at=fetched_at, body=body, endpoint=Endpoint.from_json(body))
    except (KeyError, ValueError, EndpointParseError):
        logger.warning("ignoring an unreadable shared cache item")
        return None
