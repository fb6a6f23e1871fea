"""Where the next sweep starts, kept as one item in the alert table.

Sweeps run in whichever container Lambda picks, so the rotation that lets
consecutive sweeps cover every target must outlive the container.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from endpoint_relay.adapters import aws_clients
from endpoint_relay.core.errors import DeadlineExceededError

logger = logging.getLogger(__name__)

CURSOR_KEY = "#sweep-cursor"
"""No endpoint id contains '#', so this key never collides with an endpoint's alert state."""


class DynamoSweepCursor:
    def __init__(self, table_name: str, *, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client

    def _dynamodb(self) -> Any:
        return self._client if self._client is not None else aws_clients.client("dynamodb")

    def load(self) -> str | None:
        try:
            item = self._dynamodb().get_item(TableName=self._table, Key={"pk": {"S": CURSOR_KEY}}).get("Item")
        except (ClientError, BotoCoreError, DeadlineExceededError) as exc:
            # Without the cursor the sweep starts at the top: worse coverage for one run, nothing lost.
            logger.warning("sweep cursor unavailable", extra={"aws_error_code": aws_clients.error_code(exc)})
            return None
        return str(item["next"]["S"]) if item and "next" in item else None

    def save(self, endpoint_id: str | None) -> None:
        key = {"pk": {"S": CURSOR_KEY}}
        if endpoint_id is None:
            change: dict[str, Any] = {"UpdateExpression": "REMOVE #next"}
        else:
            change = {
                "UpdateExpression": "SET #next = :next",
                "ExpressionAttributeValues": {":next": {"S": endpoint_id}},
            }
        try:
            self._dynamodb().update_item(
                TableName=self._table, Key=key, ExpressionAttributeNames={"#next": "next"}, **change
            )
        except (ClientError, BotoCoreError, DeadlineExceededError) as exc:
            logger.warning("sweep cursor not saved", extra={"aws_error_code": aws_clients.error_code(exc)})
