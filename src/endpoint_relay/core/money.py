"""Money as integer US cents: the only arithmetic the relay does on prices.

Prices arrive as integer cents per replica-hour (v2) or as a decimal number of
cents per minute (v1). Everything after parsing is integer cents, so a total
of a thousand deployments is exact and ``$95.76/h`` is never ``$95.75999/h``.
Rounding happens once, at the edge where a fraction of a cent appears (a v1
per-minute price, idle minutes), and it rounds half up, as an invoice does.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

HOURS_PER_DAY = 24


def dollars(cents: int) -> str:
    """``9576`` -> ``$95.76``; ``123456789`` -> ``$1,234,567.89``; negative amounts keep their sign."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def per_hour(cents: int) -> str:
    return f"{dollars(cents)}/h"


def per_day(cents_per_hour: int) -> str:
    return f"{dollars(cents_per_hour * HOURS_PER_DAY)}/day"


def replicas_cost(replicas: int, cents_per_hour: int | None) -> int | None:
    """What ``replicas`` replicas bill per hour; ``None`` when the price is unknown (zero replicas cost nothing)."""
    if replicas <= 0:
        return 0
    if cents_per_hour is None:
        return None
    return replicas * cents_per_hour


def cost_over_minutes(cents_per_hour: int, minutes: int) -> int:
    """What ``cents_per_hour`` bills over ``minutes``, in whole cents rounded half up (integers only)."""
    return (cents_per_hour * minutes * 2 + 60) // 120


def cents_per_hour_from_per_minute(value: object) -> int | None:
    """v1's ``pricing.cents_per_minute`` (a JSON number) as whole cents per hour, rounded half up.

    The JSON number goes through its shortest decimal text, never binary float
    arithmetic: ``5.8167`` cents a minute is exactly ``349.002`` cents an hour,
    which bills as 349. ``None`` for anything that is not a finite, non-negative number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        exact = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    if not exact.is_finite() or exact < 0:
        return None
    return int((exact * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
