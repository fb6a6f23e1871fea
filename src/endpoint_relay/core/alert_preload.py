"""Alert state read ahead of the checks that use it: a sweep reads many endpoints' state in a few batch calls.

A preloaded answer is either the stored state or :data:`NO_STORED_ALERT` (the endpoint has none yet); an
endpoint absent from a preload was not read, and its check reads its state itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Literal, Protocol

from endpoint_relay.core.alerting import StoredAlert


class _Absent(Enum):
    NO_STORED_ALERT = "no stored alert"


NO_STORED_ALERT = _Absent.NO_STORED_ALERT
"""Read, and found nothing: unlike a missing entry, which was not read at all."""

type PreloadedAlert = StoredAlert | Literal[_Absent.NO_STORED_ALERT]


class AlertBatchReader(Protocol):
    def __call__(self, endpoint_ids: Sequence[str]) -> Mapping[str, PreloadedAlert]:
        """The state of each endpoint it could read; AlertStoreError when the store fails."""
        ...
