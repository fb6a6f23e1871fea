"""Alert state in DynamoDB: one item per endpoint, changed only by conditional writes.

Item attributes (key ``pk`` = endpoint id):

- lifecycle: ``version``, ``status``, ``fingerprint``, ``findings`` (JSON), ``opened_at`` (first seen),
  ``announced``, ``last_notified``, ``endpoint_state``, ``state_since``, ``clocks`` (v2, JSON: each
  deployment's own start times), ``muted_until``, ``muted_by``
- delivery: ``notice`` (JSON of the newest notice) and, per sink ``<s>``: ``due_<s>`` (id of the notice
  still owed), ``lease_<s>`` / ``lease_owner_<s>`` (who is delivering it, until when), ``delivered_<s>``,
  ``delivered_at_<s>``, ``failures_<s>`` (every failed attempt), ``refusals_<s>`` (permanent refusals of the
  owed notice), ``abandoned_<s>`` (the last notice retired after too many refusals)
- ``expires_at``: the table's TTL attribute

Lifecycle writes are conditional on ``version``, so of several invocations that
saw the same state only one issues the notice. Delivery claims are conditional
on the notice still being owed and nobody holding an unexpired lease, so each
sink gets each notice once; a failed delivery gives the lease back and the
notice stays owed for the next sweep, unless the sink refused it for good
``MAX_PERMANENT_REFUSALS`` times. A lifecycle write or a mute change that makes
the owed notice untrue drops it in the same conditional write.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from endpoint_relay.adapters import dynamo
from endpoint_relay.adapters.aws_clients import LazyClient
from endpoint_relay.core.alerting import (
    MAX_PERMANENT_REFUSALS,
    AlertState,
    AlertStatus,
    AlertStoreError,
    LifecycleWrite,
    MuteChange,
    Notice,
    StoredAlert,
    findings_from_json,
    findings_to_json,
)
from endpoint_relay.core.deployment_clocks import clocks_from_json, clocks_to_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = logging.getLogger(__name__)

RETENTION_SECONDS = 30 * 86_400
"""An item nobody has written for this long is dropped by TTL (a deleted endpoint's state, say)."""
_SINK_NAME = re.compile(r"[a-z][a-z0-9]{0,15}")


class DynamoAlertStore:
    def __init__(self, table_name: str, *, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._dynamodb: LazyClient[DynamoDBClient] = LazyClient("dynamodb", client)

    # -- reads ---------------------------------------------------------------------------------------------------

    def load(self, endpoint_id: str) -> StoredAlert | None:
        response = dynamo.call(
            lambda: self._dynamodb().get_item(TableName=self._table, Key=item_key(endpoint_id), ConsistentRead=True),
            AlertStoreError,
        )
        item = response.get("Item")
        return stored_alert(dynamo.plain(item)) if item else None

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def save(self, endpoint_id: str, write: LifecycleWrite) -> bool:
        state, expected_version, notice, sinks = write.state, write.expected_version, write.notice, write.sinks
        update = _Update()
        update.set("version", expected_version + 1)
        update.set("status", state.status.value)
        update.set("findings", findings_to_json(state.findings))
        update.set_or_remove("fingerprint", state.fingerprint)
        update.set_or_remove("opened_at", state.opened_at)
        update.set_or_remove("announced", state.announced)
        update.set_or_remove("last_notified", state.last_notified)
        update.set_or_remove("endpoint_state", state.endpoint_state)
        update.set_or_remove("state_since", state.state_since)
        update.set_or_remove("clocks", None if state.clocks is None else clocks_to_json(state.clocks))
        update.set("expires_at", _expiry(write.now, state.muted_until))
        if notice is not None:
            _owe(update, notice, sinks)
        elif write.retract:
            _drop_owed(update, sinks)
        if expected_version == 0:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "#version = :expected_version"
            update.value(":expected_version", expected_version)
        return self._conditional(endpoint_id, update, condition)

    def set_mute(self, endpoint_id: str, change: MuteChange) -> None:
        update = _Update()
        update.add("version", 1)
        if change.until is None:
            update.remove("muted_until", "muted_by")
        else:
            update.set("muted_until", change.until)
            update.set("muted_by", change.actor[:200])
        # As decide() does while muted: whatever is still unhealthy afterwards is announced afresh.
        update.remove("announced")
        if change.announcement is not None:
            _owe(update, change.announcement, change.sinks)
        else:
            _drop_owed(update, change.sinks)
        update.set("muted_at", change.now)
        update.set("expires_at", _expiry(change.now, change.until))
        self._write(endpoint_id, update, condition=None)

    # -- delivery ------------------------------------------------------------------------------------------------

    def claim(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float, lease: float) -> bool:
        _check_sink(sink)
        update = _Update()
        update.set(f"lease_{sink}", now + lease)
        update.set(f"lease_owner_{sink}", owner)
        update.value(":notice_id", notice_id)
        update.value(":now", now)
        lease_name = update.name(f"lease_{sink}")
        condition = (
            f"{update.name(f'due_{sink}')} = :notice_id AND (attribute_not_exists({lease_name}) OR {lease_name} < :now)"
        )
        return self._conditional(endpoint_id, update, condition)

    def mark_delivered(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float) -> None:
        _check_sink(sink)
        update = _Update()
        update.remove(f"due_{sink}", f"lease_{sink}", f"lease_owner_{sink}", f"refusals_{sink}")
        update.set(f"delivered_{sink}", notice_id)
        update.set(f"delivered_at_{sink}", now)
        update.value(":notice_id", notice_id)
        update.value(":owner", owner)
        condition = f"{update.name(f'due_{sink}')} = :notice_id AND {update.name(f'lease_owner_{sink}')} = :owner"
        if not self._conditional(endpoint_id, update, condition):
            # A newer notice replaced this one while it was in flight; that one is owed in its own right.
            logger.info("delivered notice was superseded meanwhile", extra={"endpoint_id": endpoint_id, "sink": sink})

    def release(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, permanent: bool = False) -> bool:
        _check_sink(sink)
        owner_is_us = f"#lease_owner_{sink} = :owner"
        if permanent:
            # The last refusal allowed retires the notice for this sink, in one conditional write.
            retire = _Update()
            retire.remove(f"due_{sink}", f"lease_{sink}", f"lease_owner_{sink}", f"refusals_{sink}")
            retire.set(f"abandoned_{sink}", notice_id)
            retire.add(f"failures_{sink}", 1)
            retire.value(":owner", owner)
            retire.value(":notice_id", notice_id)
            retire.value(":last", MAX_PERMANENT_REFUSALS - 1)
            refusals = retire.name(f"refusals_{sink}")
            due = retire.name(f"due_{sink}")
            if self._conditional(endpoint_id, retire, f"{owner_is_us} AND {due} = :notice_id AND {refusals} >= :last"):
                return True
        update = _Update()
        update.remove(f"lease_{sink}", f"lease_owner_{sink}")
        update.add(f"failures_{sink}", 1)
        if permanent:
            update.add(f"refusals_{sink}", 1)
        update.value(":owner", owner)
        self._conditional(endpoint_id, update, owner_is_us)
        return False

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _conditional(self, endpoint_id: str, update: _Update, condition: str) -> bool:
        request = self._request(endpoint_id, update, condition)
        return dynamo.write_if(lambda: self._dynamodb().update_item(**request), AlertStoreError)

    def _write(self, endpoint_id: str, update: _Update, condition: str | None) -> None:
        request = self._request(endpoint_id, update, condition)
        dynamo.call(lambda: self._dynamodb().update_item(**request), AlertStoreError)

    def _request(self, endpoint_id: str, update: _Update, condition: str | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": item_key(endpoint_id),
            "UpdateExpression": update.expression(),
            "ExpressionAttributeNames": update.names,
        }
        if update.values:
            request["ExpressionAttributeValues"] = dynamo.attributes(update.values)
        if condition is not None:
            request["ConditionExpression"] = condition
        return request


class _Update:
    """Builds an UpdateExpression with every attribute name aliased (``status`` is a reserved word)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self._sets: list[str] = []
        self._removes: list[str] = []
        self._adds: list[str] = []

    def name(self, attribute: str) -> str:
        alias = f"#{attribute}"
        self.names[alias] = attribute
        return alias

    def value(self, placeholder: str, value: Any) -> None:
        self.values[placeholder] = value

    def set(self, attribute: str, value: Any) -> None:
        placeholder = f":v_{attribute}"
        self.value(placeholder, value)
        self._sets.append(f"{self.name(attribute)} = {placeholder}")

    def set_or_remove(self, attribute: str, value: Any | None) -> None:
        if value is None:
            self.remove(attribute)
        else:
            self.set(attribute, value)

    def remove(self, *attributes: str) -> None:
        self._removes.extend(self.name(attribute) for attribute in attributes)

    def add(self, attribute: str, value: float) -> None:
        placeholder = f":a_{attribute}"
        self.value(placeholder, value)
        self._adds.append(f"{self.name(attribute)} {placeholder}")

    def expression(self) -> str:
        clauses = []
        if self._sets:
            clauses.append("SET " + ", ".join(self._sets))
        if self._removes:
            clauses.append("REMOVE " + ", ".join(self._removes))
        if self._adds:
            clauses.append("ADD " + ", ".join(self._adds))
        return " ".join(clauses)


def _owe(update: _Update, notice: Notice, sinks: Iterable[str]) -> None:
    update.set("notice", notice.to_json())
    for sink in sinks:
        _check_sink(sink)
        # A newer notice supersedes one still owed; any claim on the old one is void.
        update.set(f"due_{sink}", notice.id)
        update.remove(f"lease_{sink}", f"lease_owner_{sink}", f"refusals_{sink}")


def _drop_owed(update: _Update, sinks: Iterable[str]) -> None:
    # Without its notice, a leftover due flag (a sink since disabled) matches nothing that is loaded.
    update.remove("notice")
    for sink in sinks:
        _check_sink(sink)
        update.remove(f"due_{sink}", f"lease_{sink}", f"lease_owner_{sink}", f"refusals_{sink}")


def stored_alert(item: dict[str, Any]) -> StoredAlert:
    """An item (plain values) as the lifecycle reads it; unreadable state reads as a fresh lifecycle."""
    try:
        state = AlertState(
            status=AlertStatus(_text(item, "status") or AlertStatus.OK.value),
            fingerprint=_text(item, "fingerprint"),
            findings=findings_from_json(_text(item, "findings") or "[]"),
            opened_at=_number(item, "opened_at"),
            announced=_text(item, "announced"),
            last_notified=_number(item, "last_notified"),
            endpoint_state=_text(item, "endpoint_state"),
            state_since=_number(item, "state_since"),
            clocks=clocks_from_json(_text(item, "clocks")),
            muted_until=_number(item, "muted_until"),
            muted_by=_text(item, "muted_by"),
        )
        notice_text = _text(item, "notice")
        notice = Notice.from_json(notice_text) if notice_text else None
    except (KeyError, TypeError, ValueError) as exc:
        # Unreadable state must not stop alerting: start the lifecycle afresh, loudly.
        logger.error("ignoring unreadable alert state", extra={"error": type(exc).__name__})
        return StoredAlert(state=AlertState(), version=int(_number(item, "version") or 0))
    due = frozenset(
        name.removeprefix("due_")
        for name, value in item.items()
        if name.startswith("due_") and notice is not None and value == notice.id
    )
    return StoredAlert(state=state, version=int(_number(item, "version") or 0), notice=notice, due=due)


def _check_sink(sink: str) -> None:
    if not _SINK_NAME.fullmatch(sink):
        raise ValueError(f"sink names are short lowercase words, not {sink!r}")


def item_key(endpoint_id: str) -> dict[str, Any]:
    return dynamo.attributes({"pk": endpoint_id})


def _text(item: dict[str, Any], name: str) -> str | None:
    return dynamo.text(item.get(name))


def _number(item: dict[str, Any], name: str) -> float | None:
    return dynamo.number(item.get(name))


def _expiry(now: float, muted_until: float | None) -> float:
    keep = now + RETENTION_SECONDS
    if muted_until is not None:
        keep = max(keep, muted_until + 86_400)
    return float(int(keep))
