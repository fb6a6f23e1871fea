"""In-memory stand-ins for the alert service's own ports: a store with DynamoDB's atomic conditional writes,
and recording sinks (the clock, secrets and upstream are in tests/fakes.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from endpoint_relay.core.alert_preload import NO_STORED_ALERT, PreloadedAlert
from endpoint_relay.core.alerting import (
    MAX_PERMANENT_REFUSALS,
    AlertState,
    AlertStoreError,
    DeliveryError,
    LifecycleWrite,
    MuteChange,
    Notice,
    StoredAlert,
)


@dataclass
class _Item:
    state: AlertState = field(default_factory=AlertState)
    version: int = 0
    notice: Notice | None = None
    due: set[str] = field(default_factory=set)
    leases: dict[str, tuple[float, str]] = field(default_factory=dict)
    delivered: dict[str, str] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    abandoned: dict[str, str] = field(default_factory=dict)

    def owe(self, notice: Notice, sinks: Iterable[str]) -> None:
        self.notice = notice
        for sink in sinks:
            self.due.add(sink)
            self.leases.pop(sink, None)
            self.refusals.pop(sink, None)

    def drop_owed(self) -> None:
        self.notice = None
        self.due.clear()
        self.leases.clear()
        self.refusals.clear()


class MemoryAlertStore:
    """Every operation is atomic under one lock, as DynamoDB makes each conditional write."""

    def __init__(self) -> None:
        self._items: dict[str, _Item] = {}
        self._lock = threading.Lock()
        self.fail_with: AlertStoreError | None = None
        self.saves = 0
        self.loads = 0
        """Single-endpoint reads."""
        self.batch_loads: list[int] = []
        """The size of each batch read."""
        self.fail_batches_with: AlertStoreError | None = None

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def load(self, endpoint_id: str) -> StoredAlert | None:
        self._check()
        with self._lock:
            self.loads += 1
            return self._stored(endpoint_id)

    def load_many(self, endpoint_ids: Sequence[str]) -> dict[str, PreloadedAlert]:
        self._check()
        if self.fail_batches_with is not None:
            raise self.fail_batches_with
        with self._lock:
            self.batch_loads.append(len(endpoint_ids))
            return {endpoint_id: self._stored(endpoint_id) or NO_STORED_ALERT for endpoint_id in endpoint_ids}

    def _stored(self, endpoint_id: str) -> StoredAlert | None:
        item = self._items.get(endpoint_id)
        if item is None:
            return None
        return StoredAlert(item.state, item.version, item.notice, frozenset(item.due))

    def save(self, endpoint_id: str, write: LifecycleWrite) -> bool:
        state, expected_version, notice = write.state, write.expected_version, write.notice
        self._check()
        with self._lock:
            item = self._items.get(endpoint_id)
            if (item is None and expected_version != 0) or (item is not None and item.version != expected_version):
                return False
            item = item or _Item()
            # Like the DynamoDB update, a lifecycle write never touches the mute.
            item.state = replace(state, muted_until=item.state.muted_until, muted_by=item.state.muted_by)
            item.version += 1
            if notice is not None:
                item.owe(notice, write.sinks)
            elif write.retract:
                item.drop_owed()
            self._items[endpoint_id] = item
            self.saves += 1
            return True

    def claim(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float, lease: float) -> bool:
        self._check()
        with self._lock:
            item = self._items.get(endpoint_id)
            if item is None or item.notice is None or item.notice.id != notice_id or sink not in item.due:
                return False
            held = item.leases.get(sink)
            if held is not None and held[0] >= now:
                return False
            item.leases[sink] = (now + lease, owner)
            return True

    def mark_delivered(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float) -> None:
        with self._lock:
            item = self._items[endpoint_id]
            if item.notice is not None and item.notice.id == notice_id and item.leases.get(sink, (0, ""))[1] == owner:
                item.due.discard(sink)
                item.leases.pop(sink, None)
                item.refusals.pop(sink, None)
                item.delivered[sink] = notice_id

    def release(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, permanent: bool = False) -> bool:
        with self._lock:
            item = self._items[endpoint_id]
            if item.leases.get(sink, (0, ""))[1] != owner:
                return False
            item.leases.pop(sink, None)
            if not permanent:
                return False
            item.refusals[sink] = item.refusals.get(sink, 0) + 1
            if item.refusals[sink] < MAX_PERMANENT_REFUSALS or sink not in item.due:
                return False
            item.due.discard(sink)
            item.refusals.pop(sink, None)
            item.abandoned[sink] = notice_id
            return True

    def set_mute(self, endpoint_id: str, change: MuteChange) -> None:
        self._check()
        with self._lock:
            item = self._items.setdefault(endpoint_id, _Item())
            muted_by = change.actor if change.until is not None else None
            item.state = replace(item.state, muted_until=change.until, muted_by=muted_by, announced=None)
            item.drop_owed()
            if change.announcement is not None:
                item.owe(change.announcement, change.sinks)
            item.version += 1


class RecordingSink:
    def __init__(self, name: str) -> None:
        self.name = name
        self.delivered: list[Notice] = []
        self.failures: list[DeliveryError] = []
        """Errors for the next deliveries, one per notice, in order."""
        self._lock = threading.Lock()

    def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        results: dict[str, DeliveryError | None] = {}
        with self._lock:
            for notice in notices:
                if self.failures:
                    results[notice.id] = self.failures.pop(0)
                else:
                    self.delivered.append(notice)
                    results[notice.id] = None
        return results

    def kinds(self, endpoint_id: str | None = None) -> list[str]:
        """The alert notices delivered (mute announcements are in ``announcements``)."""
        return [
            n.kind.value
            for n in self.delivered
            if not n.kind.is_announcement and (endpoint_id is None or n.endpoint_id == endpoint_id)
        ]

    def announcements(self) -> list[Notice]:
        return [n for n in self.delivered if n.kind.is_announcement]
