"""The exactly-once delivery rules that notices and the daily digest share: claim, guarded delivery, settle.

A conditional claim in the store decides who delivers an item to a sink, for a lease. A delivered item
is marked so; a failed one is given back and stays owed; one the sink refuses for good is retired for
that sink at the ``MAX_PERMANENT_REFUSALS``-th refusal, loudly. A store failure while settling (or a store
call the deadline no longer fits) leaves the lease to expire: the item may be resent, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import Protocol

from endpoint_relay.core.alerting import MAX_PERMANENT_REFUSALS, AlertStoreError, DeliveryError
from endpoint_relay.core.errors import DeadlineExceededError


class DeliveryStore(Protocol):
    """Per-item, per-sink delivery bookkeeping: the alert store (items by endpoint), the digest ledger (by date)."""

    def claim(self, key: str, sink: str, item_id: str, /, *, owner: str, now: float, lease: float) -> bool: ...

    def mark_delivered(self, key: str, sink: str, item_id: str, /, *, owner: str, now: float) -> None: ...

    def release(self, key: str, sink: str, item_id: str, /, *, owner: str, permanent: bool = False) -> bool: ...


class Settled(Enum):
    """How a claimed delivery ended (compared by identity: the values mean nothing)."""

    DELIVERED = auto()
    OWED = auto()
    ABANDONED = auto()
    """Refused for good once too often: retired for this sink."""
    UNRECORDED = auto()
    """The store failed, or had no time left; the lease expires and the item may be resent."""


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    """One owner's claims and settlements; ``item`` names what is delivered and ``log`` is the caller's, for logs."""

    store: DeliveryStore
    owner: str
    clock: Callable[[], float]
    lease_seconds: float
    item: str
    log: logging.Logger

    def claim(self, key: str, sink: str, item_id: str, where: Mapping[str, object]) -> bool:
        """Take the right to deliver; False when not owed, taken, or the store failed (it stays owed)."""
        try:
            return self.store.claim(key, sink, item_id, owner=self.owner, now=self.clock(), lease=self.lease_seconds)
        except (AlertStoreError, DeadlineExceededError):
            self.log.warning("could not claim the %s's delivery", self.item, extra={**where, "sink": sink})
            return False

    def settle(
        self, key: str, sink: str, item_id: str, error: DeliveryError | None, where: Mapping[str, object]
    ) -> Settled:
        """Record a claimed delivery's outcome: ``error`` is None once delivered."""
        where = {**where, "sink": sink}
        try:
            if error is None:
                self.store.mark_delivered(key, sink, item_id, owner=self.owner, now=self.clock())
                return Settled.DELIVERED
            self.log.warning(
                "%s not delivered; it stays owed",
                self.item,
                extra={**where, "error_kind": error.kind, "permanent": error.permanent},
            )
            if not self.store.release(key, sink, item_id, owner=self.owner, permanent=error.permanent):
                return Settled.OWED
        except (AlertStoreError, DeadlineExceededError):
            self.log.error(
                "could not record the %s's delivery outcome; the lease expires and it may be resent",
                self.item,
                extra=where,
            )
            return Settled.UNRECORDED
        self.log.error(
            "%s abandoned: the sink refused it for good, every time; fix the sink's configuration",
            self.item,
            extra={**where, "error_kind": error.kind, "refusals": MAX_PERMANENT_REFUSALS},
        )
        return Settled.ABANDONED


def guarded_delivery[T](
    log: logging.Logger, sink: str, attempt: Callable[[], T], on_bug: Callable[[DeliveryError], T]
) -> T:
    """``attempt``'s answer; ``on_bug``'s for an internal error when the sink raises instead."""
    try:
        return attempt()
    except Exception:  # a sink's bug must not lose the other sinks' deliveries
        log.exception("sink failed unexpectedly", extra={"sink": sink})
        return on_bug(DeliveryError("sink failed", kind="internal"))
