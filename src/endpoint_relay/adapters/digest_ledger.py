"""Which sinks still owe each day's digest: one item per UTC date in the alert table.

The first invocation of a day creates the item (``#digest/<YYYY-MM-DD>``, conditional on its absence) with
the digest itself and a ``due_<sink>`` flag per sink; a duplicate EventBridge delivery finds the item and
sends only what is still owed. Claims, deliveries and failures use the alert items' own bookkeeping
(:class:`~endpoint_relay.adapters.alert_store.DynamoAlertStore`: leases, refusals, retirement), so each
sink posts the digest once, and a sink that failed stays owed until a later sweep delivers it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.alert_store import DynamoAlertStore, item_key
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.alerting import AlertStoreError
from endpoint_relay.core.digest import Digest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

KEY_PREFIX = "#digest/"
"""No endpoint id contains '#', so a digest's key never collides with an endpoint's alert state."""
RETENTION_SECONDS = 7 * 86_400
"""Long after the next days' digests; TTL drops the item then."""


def digest_key(date: str) -> str:
    return KEY_PREFIX + date


@dataclass(frozen=True, slots=True)
class StoredDigest:
    digest: Digest
    due: frozenset[str]
    """Sinks that have not posted it yet."""


class DynamoDigestLedger:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)
        self._deliveries = DynamoAlertStore(table_name, client=client)

    def load(self, date: str) -> StoredDigest | None:
        response = dynamo.call(
            lambda: self._dynamodb().get_item(
                TableName=self._table, Key=item_key(digest_key(date)), ConsistentRead=True
            ),
            AlertStoreError,
        )
        item = dynamo.plain(response.get("Item") or {})
        text = dynamo.text(item.get("digest"))
        if text is None:
            return None
        try:
            digest = Digest.from_json(text)
        except (KeyError, TypeError, ValueError) as exc:
            logger.error("ignoring an unreadable stored digest", extra={"date": date, "error": type(exc).__name__})
            return None
        due = frozenset(
            name.removeprefix("due_") for name, value in item.items() if name.startswith("due_") and value == digest.id
        )
        return StoredDigest(digest, due)

    def create(self, digest: Digest, sinks: frozenset[str], *, now: float) -> bool:
        """Store the day's digest, owed to ``sinks``; False when that day's digest exists already."""
        names = {"#pk": "pk", "#digest": "digest", "#created_at": "created_at", "#expires_at": "expires_at"}
        values: dict[str, Any] = {
            ":digest": digest.to_json(),
            ":created_at": now,
            ":expires_at": float(int(now + RETENTION_SECONDS)),
            ":id": digest.id,
        }
        sets = ["#digest = :digest", "#created_at = :created_at", "#expires_at = :expires_at"]
        for sink in sorted(sinks):
            names[f"#due_{sink}"] = f"due_{sink}"
            sets.append(f"#due_{sink} = :id")
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": item_key(digest_key(digest.date)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dynamo.attributes(values),
        }
        return dynamo.write_if(lambda: self._dynamodb().update_item(**request), AlertStoreError)

    def claim(self, date: str, sink: str, digest_id: str, *, owner: str, now: float, lease: float) -> bool:
        return self._deliveries.claim(digest_key(date), sink, digest_id, owner=owner, now=now, lease=lease)

    def mark_delivered(self, date: str, sink: str, digest_id: str, *, owner: str, now: float) -> None:
        self._deliveries.mark_delivered(digest_key(date), sink, digest_id, owner=owner, now=now)

    def release(self, date: str, sink: str, digest_id: str, *, owner: str, permanent: bool = False) -> bool:
        return self._deliveries.release(digest_key(date), sink, digest_id, owner=owner, permanent=permanent)
