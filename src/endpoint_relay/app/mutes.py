"""Mutes: who silenced which endpoint until when, kept in the alert state store."""

from __future__ import annotations

import logging
from collections.abc import Callable

from endpoint_relay.core.alerting import AlertStore
from endpoint_relay.core.endpoint_id import require_endpoint_id
from endpoint_relay.core.errors import ConfigurationError

logger = logging.getLogger(__name__)


class Mutes:
    def __init__(self, *, store: AlertStore | None, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def mute(self, endpoint_id: str, until_epoch: float, actor: str) -> None:
        require_endpoint_id(endpoint_id)
        self._require_store().set_mute(endpoint_id, float(until_epoch), actor=actor, now=self._clock())
        logger.info("endpoint muted", extra={"endpoint_id": endpoint_id, "muted_until": until_epoch, "actor": actor})

    def unmute(self, endpoint_id: str, actor: str) -> None:
        require_endpoint_id(endpoint_id)
        self._require_store().set_mute(endpoint_id, None, actor=actor, now=self._clock())
        logger.info("endpoint unmuted", extra={"endpoint_id": endpoint_id, "actor": actor})

    def muted_until(self, endpoint_id: str) -> float | None:
        require_endpoint_id(endpoint_id)
        stored = self._require_store().load(endpoint_id)
        if stored is None or not stored.state.is_muted(self._clock()):
            return None
        return stored.state.muted_until

    def _require_store(self) -> AlertStore:
        if self._store is None:
            raise ConfigurationError("alerting has no state store; set ALERT_TABLE_NAME")
        return self._store
