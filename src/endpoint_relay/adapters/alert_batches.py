"""A batch read of many endpoints' alert state (BatchGetItem), apart from the store's single-item calls.

Only the sweep path and the fleet view import this module, so only their functions' roles are granted
``dynamodb:BatchGetItem``; ApiFunction's lookups read one item at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.alert_store import item_key, stored_alert
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.alert_preload import NO_STORED_ALERT, PreloadedAlert
from endpoint_relay.core.alerting import AlertStoreError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoAlertBatches:
    """Reads the items :class:`~endpoint_relay.adapters.alert_store.DynamoAlertStore` writes, many at once."""

    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    def load_many(self, endpoint_ids: Sequence[str]) -> dict[str, PreloadedAlert]:
        """Many endpoints' state in BatchGetItem calls of 100 keys, read as consistently as ``load``.

        An id missing from the answer was not read: DynamoDB left it unprocessed through every retry, or the
        deadline left no time to ask again. Its reader falls back to ``load``.
        """
        found: dict[str, PreloadedAlert] = {}

        def send(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            response: Mapping[str, Any] = dynamo.call(
                lambda: self._dynamodb().batch_get_item(RequestItems=request), AlertStoreError
            )
            for raw in response.get("Responses", {}).get(self._table, []):
                item = dynamo.plain(raw)
                endpoint_id = dynamo.text(item.get("pk"))
                if endpoint_id is not None:
                    found[endpoint_id] = stored_alert(item)
            unprocessed: list[dict[str, Any]] = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            return unprocessed

        wanted = list(dict.fromkeys(endpoint_ids))  # a repeated key is refused by BatchGetItem
        unread = dynamo.batches(send, [item_key(endpoint_id) for endpoint_id in wanted], dynamo.MAX_GET_BATCH)
        left = {dynamo.text(dynamo.plain(key).get("pk")) for key in unread}
        for endpoint_id in wanted:
            if endpoint_id not in found and endpoint_id not in left:
                found[endpoint_id] = NO_STORED_ALERT
        return found
