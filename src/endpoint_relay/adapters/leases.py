"""Leases shared by every container, as items of the cache table.

A claim is one conditional put: it succeeds only when the item is absent or its
``expires_at`` (the table's TTL attribute) has passed. DynamoDB deletes expired
items lazily, so the condition, not the TTL, decides. Keys start with ``#``,
which no endpoint id (the cache's other keys) can.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.leases import LeaseStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoLeases:
    """Items: ``pk`` (the lease's key), ``token`` (its holder), ``expires_at`` (TTL, whole seconds)."""

    def __init__(
        self, table_name: str, *, clock: Callable[[], float] = time.time, client: DynamoDBClient | None = None
    ) -> None:
        self._table = table_name
        self._clock = clock
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    def claim(self, key: str, until: float) -> str | None:
        token = secrets.token_hex(8)
        claimed = dynamo.write_if(
            lambda: self._dynamodb().put_item(
                TableName=self._table,
                Item=dynamo.attributes({"pk": key, "token": token, "expires_at": math.ceil(until)}),
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues=dynamo.attributes({":now": self._clock()}),
            ),
            LeaseStoreError,
        )
        return token if claimed else None

    def release(self, key: str, token: str) -> None:
        # An expired put rather than a delete: ApiFunction's role needs no dynamodb:DeleteItem for this.
        dynamo.write_if(
            lambda: self._dynamodb().put_item(
                TableName=self._table,
                Item=dynamo.attributes({"pk": key, "expires_at": 0}),
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=dynamo.attributes({":token": token}),
            ),
            LeaseStoreError,
        )
