"""Cost in words for notices and replies: per deployment, and summed for an endpoint.

The words never repeat upstream text (the hardware is shown, escaped, beside
them), so they need no escaping. An unknown price reads "price unknown"; it
never fails a rendering.
"""

from __future__ import annotations

from collections.abc import Sequence

from endpoint_relay.core.cost import Spend
from endpoint_relay.core.money import per_hour

UNKNOWN = "price unknown"


def spend_words(spend: Spend) -> str:
    """``$95.76/h``, ``$6.98/h, up to $34.90/h at 5 replicas`` or ``price unknown``."""
    return UNKNOWN if spend.now_cents is None else spend.text()


def total_words(spends: Sequence[Spend]) -> str:
    """The sum of several deployments now and, where it differs, at their max replicas."""
    if len(spends) == 1:
        return spend_words(spends[0])
    known = [spend.now_cents for spend in spends if spend.now_cents is not None]
    unknown = len(spends) - len(known)
    if not known:
        return UNKNOWN
    now = sum(known)
    words = f"at least {per_hour(now)}" if now and any(spend.estimated for spend in spends) else per_hour(now)
    if unknown:
        return f"{words} + {UNKNOWN} for {unknown} deployment(s)"
    ceilings = [_ceiling(spend) for spend in spends]
    if all(ceiling is not None for ceiling in ceilings):
        ceiling = sum(ceiling for ceiling in ceilings if ceiling is not None)
        if ceiling != now:
            words += f", up to {per_hour(ceiling)} at max replicas"
    return words


def _ceiling(spend: Spend) -> int | None:
    """What it bills at its maximum; a deployment already there (or without one) bills what it does now."""
    if spend.max_replicas is None or spend.max_replicas <= spend.replicas:
        return spend.now_cents
    return spend.ceiling_cents
