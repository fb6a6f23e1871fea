"""Reads the sweep targets' alert state up front, in batches run side by side.

With it, a check costs one Together call and, only when the endpoint's alert
state changes, one conditional write. What is not read, its check reads itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from endpoint_relay.app.sweep_targets import alert_ref
from endpoint_relay.core.alert_preload import AlertBatchReader, PreloadedAlert
from endpoint_relay.core.deadline import Deadline
from endpoint_relay.core.errors import RelayError

logger = logging.getLogger(__name__)

PRELOAD_BATCH = 100
"""Targets whose alert state one preload call reads (BatchGetItem's limit); the calls run side by side."""


def preload_alerts(
    reader: AlertBatchReader | None,
    endpoint_ids: list[str],
    pool: ThreadPoolExecutor,
    *,
    deadline: Deadline,
    check_seconds: float,
) -> dict[str, PreloadedAlert]:
    """The stored alert state of the valid targets, by key; empty without a reader."""
    if reader is None:
        return {}
    valid = [endpoint_id for endpoint_id in endpoint_ids if alert_ref(endpoint_id) is not None]
    batches = [valid[start : start + PRELOAD_BATCH] for start in range(0, len(valid), PRELOAD_BATCH)]

    def read(batch: list[str]) -> Mapping[str, PreloadedAlert]:
        # Read only what checks may still start for.
        if not deadline.allows(check_seconds):
            return {}
        try:
            return reader(batch)
        except RelayError as exc:
            logger.warning("alert state batch read failed; each check reads its own", extra={"error_code": exc.code})
            return {}

    stored: dict[str, PreloadedAlert] = {}
    for loaded in pool.map(read, batches):
        stored.update(loaded)
    return stored
