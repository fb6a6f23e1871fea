"""The daily digest: the fleet's spend, its most expensive lines, what bills while idle, and what is firing.

Built once a day from the :class:`~endpoint_relay.core.fleet.Fleet` and the open alerts of the alert
table, then stored (as :meth:`Digest.to_json`) so a sink that failed is later sent the very same
message. Pure: rendering lives in ``digest_slack`` and ``digest_sns``; money in integer cents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.money import HOURS_PER_DAY
from endpoint_relay.core.policy import Finding, FindingKind, highest_severity

TOP_LINES = 5
MAX_IDLE_LINES = 20
MAX_FIRING_LINES = 30
"""Beyond these, the digest says how many more there are (a digest is a summary; the alerts carry detail)."""
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


def is_digest_date(text: str) -> bool:
    """``YYYY-MM-DD``: the digest's de-duplication key (a UTC date)."""
    return bool(_DATE.fullmatch(text))


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """An endpoint whose alert is firing, as the alert table holds it."""

    key: str
    name: str
    findings: tuple[Finding, ...]
    muted: bool = False


@dataclass(frozen=True, slots=True)
class CostLine:
    key: str
    name: str
    deployment_id: str | None
    state: str
    replicas: int
    cents_per_hour: int | None
    spend: str
    """What it bills, in words: ``$95.76/h``, ``at least …`` or ``price unknown (hw)``."""


@dataclass(frozen=True, slots=True)
class IdleLine:
    key: str
    name: str
    deployment_id: str | None
    cents_per_day: int | None
    """Its cost per day: what it wastes while it serves nothing; ``None`` at an unknown price."""
    message: str | None
    """The idle finding's own words (hours idle, dollars spent idle), when the alert table has them."""


@dataclass(frozen=True, slots=True)
class FiringLine:
    """An alert still firing when the digest was built: its key, endpoint name, severity and one-line summary."""

    key: str
    name: str
    severity: str
    summary: str
    muted: bool


@dataclass(frozen=True, slots=True)
class Digest:
    """One UTC day's digest: the fleet's spend, its most expensive and idle lines, and what is firing."""

    date: str
    """The UTC day it covers, ``YYYY-MM-DD``: the day of the schedule's ``scheduled-time``, and the digest's key."""
    generated_at: str
    """When its fleet view was read (``YYYY-MM-DDTHH:MM:SSZ``); a retried post sends the digest as it was then."""
    cents_per_hour: int
    """The total of the lines whose price is known."""
    lines: int
    """Lines holding replicas."""
    unpriced: int
    unreadable: tuple[str, ...]
    top: tuple[CostLine, ...]
    idle: tuple[IdleLine, ...]
    idle_total: int
    firing: tuple[FiringLine, ...]
    firing_total: int
    idle_total_cents_per_day: int | None = None
    """What every idle line wastes per day, listed or not; ``None`` in a digest stored before it was kept."""

    @property
    def id(self) -> str:
        return f"digest-{self.date}"

    @property
    def cents_per_day(self) -> int:
        return self.cents_per_hour * HOURS_PER_DAY

    @property
    def idle_cents_per_day(self) -> int:
        if self.idle_total_cents_per_day is not None:
            return self.idle_total_cents_per_day
        return _idle_cents_per_day(self.idle)

    @classmethod
    def of(cls, date: str, fleet: Fleet, alerts: Iterable[OpenAlert]) -> Digest:
        if not is_digest_date(date):
            raise ValueError("a digest's date is YYYY-MM-DD")
        open_alerts = {alert.key: alert for alert in alerts}
        idling = [line for line in fleet.lines if FindingKind.IDLE_SPEND in line.findings]
        idle = [_idle_line(line, open_alerts.get(line.key)) for line in idling]
        firing = sorted((_firing_line(alert) for alert in open_alerts.values()), key=_firing_order)
        return cls(
            date=date,
            generated_at=fleet.generated_at,
            cents_per_hour=fleet.cents_per_hour,
            lines=len(fleet.lines),
            unpriced=fleet.unpriced,
            unreadable=fleet.unreadable,
            top=tuple(_cost_line(line) for line in fleet.lines[:TOP_LINES]),
            idle=tuple(idle[:MAX_IDLE_LINES]),
            idle_total=len(idle),
            firing=tuple(firing[:MAX_FIRING_LINES]),
            firing_total=len(firing),
            idle_total_cents_per_day=_idle_cents_per_day(idle),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Digest:
        document: dict[str, Any] = json.loads(text)
        return cls(
            **{
                **document,
                "unreadable": tuple(document["unreadable"]),
                "top": tuple(CostLine(**line) for line in document["top"]),
                "idle": tuple(IdleLine(**line) for line in document["idle"]),
                "firing": tuple(FiringLine(**line) for line in document["firing"]),
            }
        )


def _name(line: FleetLine) -> str:
    return line.name or line.endpoint_id


def _cost_line(line: FleetLine) -> CostLine:
    return CostLine(
        key=line.key,
        name=_name(line),
        deployment_id=line.deployment_id,
        state=line.state,
        replicas=line.spend.replicas,
        cents_per_hour=line.spend.now_cents,
        spend=line.spend.text(),
    )


def _idle_line(line: FleetLine, alert: OpenAlert | None) -> IdleLine:
    cents = line.spend.now_cents
    return IdleLine(
        key=line.key,
        name=_name(line),
        deployment_id=line.deployment_id,
        cents_per_day=None if cents is None else cents * HOURS_PER_DAY,
        message=_idle_message(line, alert),
    )


def _idle_message(line: FleetLine, alert: OpenAlert | None) -> str | None:
    if alert is None:
        return None
    idle = [finding for finding in alert.findings if finding.kind == FindingKind.IDLE_SPEND]
    # The finding about this deployment; a v1 endpoint's (or an older one's) names no subject.
    about = [finding for finding in idle if finding.subject == line.deployment_id] or [
        finding for finding in idle if finding.subject is None
    ]
    return about[0].message if about else None


def _idle_cents_per_day(lines: Iterable[IdleLine]) -> int:
    return sum(line.cents_per_day or 0 for line in lines)


def _firing_line(alert: OpenAlert) -> FiringLine:
    severity = highest_severity(alert.findings)
    first = next((finding for finding in alert.findings if finding.severity == severity), None)
    more = len(alert.findings) - 1
    summary = (first.message if first else "firing") + (f" (+{more} more)" if more > 0 else "")
    return FiringLine(
        key=alert.key,
        name=alert.name,
        severity=severity.value if severity else "warning",
        summary=summary,
        muted=alert.muted,
    )


def _firing_order(line: FiringLine) -> tuple[bool, int, str]:
    # Critical before warning, muted ones last: what needs someone now comes first.
    return (line.muted, 0 if line.severity == "critical" else 1, line.key)
