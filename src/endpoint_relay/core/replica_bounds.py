"""An endpoint's or a deployment's replica bounds as two values, read the same way for v1 and v2."""

from __future__ import annotations

from typing import Protocol


class _Autoscaling(Protocol):
    """v1's ``Autoscaling`` (both bounds always set) or v2's ``DeploymentAutoscaling`` (either may be omitted)."""

    @property
    def min_replicas(self) -> int | None: ...

    @property
    def max_replicas(self) -> int | None: ...


def replica_bounds(autoscaling: _Autoscaling | None) -> tuple[int | None, int | None]:
    """``(min, max)`` as sent; both ``None`` when upstream sent no readable autoscaling."""
    if autoscaling is None:
        return None, None
    return autoscaling.min_replicas, autoscaling.max_replicas
