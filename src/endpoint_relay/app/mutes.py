"""Mutes: who silenced which endpoint until when, kept in the alert state store and announced on every sink."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from endpoint_relay.app.recorder import Owed
from endpoint_relay.core.alerting import AlertStore, MuteChange, Notice
from endpoint_relay.core.endpoint_ref import require_alert_key
from endpoint_relay.core.errors import ConfigurationError

logger = logging.getLogger(__name__)


class Mutes:
    def __init__(self, *, store: AlertStore | None, sink_names: Iterable[str], clock: Callable[[], float]) -> None:
        self._store = store
        self._sinks = frozenset(sink_names)
        self._clock = clock

    def mute(self, endpoint_id: str, until_epoch: float, actor: str) -> Owed | None:
        """Mute the endpoint (a v1 id or ``proj_…/ep_…``); the announcement owed to every sink."""
        owed = self._change(endpoint_id, float(until_epoch), actor)
        logger.info("endpoint muted", extra={"endpoint_id": endpoint_id, "muted_until": until_epoch, "actor": actor})
        return owed

    def unmute(self, endpoint_id: str, actor: str) -> Owed | None:
        owed = self._change(endpoint_id, None, actor)
        logger.info("endpoint unmuted", extra={"endpoint_id": endpoint_id, "actor": actor})
        return owed

    def muted_until(self, endpoint_id: str) -> float | None:
        require_alert_key(endpoint_id)
        stored = self._require_store().load(endpoint_id)
        if stored is None or not stored.state.is_muted(self._clock()):
            return None
        return stored.state.muted_until

    def _change(self, endpoint_id: str, until: float | None, actor: str) -> Owed | None:
        require_alert_key(endpoint_id)
        store = self._require_store()
        now = self._clock()
        # Written with the mute, so the announcement is owed even if nobody delivers it now: a sweep will.
        announcement = Notice.mute_change(endpoint_id, until, actor=actor, now=now) if self._sinks else None
        change = MuteChange(until, actor, now, announcement, tuple(sorted(self._sinks)))
        store.set_mute(endpoint_id, change)
        return Owed(announcement, self._sinks) if announcement else None

    def _require_store(self) -> AlertStore:
        if self._store is None:
            raise ConfigurationError("alerting has no state store; set ALERT_TABLE_NAME")
        return self._store
