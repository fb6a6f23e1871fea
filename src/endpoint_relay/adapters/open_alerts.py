"""Every firing alert in the alert table, for the daily digest: one Scan, filtered on ``status``.

Only the digest reads the whole table (once a day), so only SweepFunction's role is granted
``dynamodb:Scan``. The table holds one item per endpoint ever alerted on (a deleted one expires
after 30 days), so a scan of it is small; it is still bounded in pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.alert_store import stored_alert
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.alerting import AlertStatus, AlertStoreError
from endpoint_relay.core.digest import OpenAlert

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

MAX_PAGES = 100
"""Scan pages read at most (1 MB each): far beyond any fleet's alert table."""


class DynamoOpenAlerts:
    def __init__(self, table_name: str, clock: Callable[[], float], *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._clock = clock
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    def open_alerts(self) -> list[OpenAlert]:
        now = self._clock()
        found: list[OpenAlert] = []
        start: dict[str, Any] | None = None
        for _ in range(MAX_PAGES):
            page = self._page(start)
            for raw in page.get("Items", []):
                alert = _open_alert(dynamo.plain(raw), now)
                if alert is not None:
                    found.append(alert)
            start = page.get("LastEvaluatedKey")
            if not start:
                return found
        logger.warning("alert table scan cut short", extra={"pages": MAX_PAGES})
        return found

    def _page(self, start: dict[str, Any] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "ConsistentRead": True,
            "FilterExpression": "#status = :firing",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": dynamo.attributes({":firing": AlertStatus.FIRING.value}),
        }
        if start:
            request["ExclusiveStartKey"] = start
        page: Any = dynamo.call(lambda: self._dynamodb().scan(**request), AlertStoreError)
        return dict(page)


def _open_alert(item: dict[str, Any], now: float) -> OpenAlert | None:
    key = dynamo.text(item.get("pk"))
    if key is None or key.startswith("#"):
        return None
    stored = stored_alert(item)
    if stored.state.status is not AlertStatus.FIRING or not stored.state.findings:
        return None
    snapshot = stored.notice.endpoint if stored.notice is not None else None
    name = (snapshot.display_name or snapshot.name) if snapshot is not None else ""
    return OpenAlert(key=key, name=name or key, findings=stored.state.findings, muted=stored.state.is_muted(now))
