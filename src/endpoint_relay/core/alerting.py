"""The alert lifecycle, modelled on Alertmanager: firing, repeat interval, resolved.

Pure: given what the state store remembers about an endpoint, its current
findings and the time, :func:`decide` says what the store should now hold and
which notice (if any) is owed. Who may send that notice is settled elsewhere,
by conditional writes in the store; this module never does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from endpoint_relay.core.deployment_clocks import Clocks
from endpoint_relay.core.endpoint_ref import EndpointRef, parse_endpoint_ref

# Re-exported: the store's failure type, next to the store's protocol.
from endpoint_relay.core.errors import AlertStoreError as AlertStoreError
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.policy import Expectations, Finding, Severity, highest_severity
from endpoint_relay.core.policy_v2 import candidates, live_weights
from endpoint_relay.core.replica_bounds import replica_bounds
from endpoint_relay.core.v1_view import primary_deployment
from endpoint_relay.core.v2_models import Deployment
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_notice import (
    DeploymentSnapshot,
    ReasonLine,
    deployment_snapshots,
    deployments_from_json,
    reasons_from_json,
    snapshots_to_json,
)

DEFAULT_REPEAT_INTERVAL = 4 * 3600.0
MAX_PERMANENT_REFUSALS = 5
"""Refusals a sink may answer one notice with ("cannot succeed until someone fixes it") before it is retired."""


class AlertStatus(StrEnum):
    OK = "ok"
    FIRING = "firing"


class NoticeKind(StrEnum):
    FIRING = "firing"
    """A set of findings opened (or was silenced by a mute that has since ended)."""
    CHANGED = "changed"
    """Still firing, with a different set of findings."""
    REMINDER = "reminder"
    """Still firing with the same findings after the repeat interval."""
    RESOLVED = "resolved"
    MUTED = "muted"
    """Someone muted the endpoint: says who, and until when."""
    UNMUTED = "unmuted"

    @property
    def is_announcement(self) -> bool:
        """A mute change, true whatever the endpoint does next; the others report its findings."""
        return self in (NoticeKind.MUTED, NoticeKind.UNMUTED)

    @property
    def heading(self) -> tuple[str, str]:
        """Emoji and title every rendering of the notice leads with (Unicode emoji: Slack, Teams and email agree)."""
        return _NOTICE_TITLES[self]


_NOTICE_TITLES = {
    NoticeKind.FIRING: ("\U0001f534", "Firing"),
    NoticeKind.CHANGED: ("\U0001f7e0", "Changed"),
    NoticeKind.REMINDER: ("\U0001f501", "Still firing"),
    NoticeKind.RESOLVED: ("\u2705", "Resolved"),
    NoticeKind.MUTED: ("\U0001f515", "Muted"),
    NoticeKind.UNMUTED: ("\U0001f514", "Unmuted"),
}


@dataclass(frozen=True)
class EndpointSnapshot:
    """What a notice says about the endpoint, frozen when the notice is issued."""

    id: str
    display_name: str
    name: str
    model: str
    hardware: str
    state: str
    min_replicas: int | None
    max_replicas: int | None
    expected_min_replicas: int | None
    expected_max_replicas: int | None
    project_id: str | None = None
    """Set for a v2 endpoint (``id`` is then its ``ep_…``); notices stored before v2 read as v1."""
    deployments: tuple[DeploymentSnapshot, ...] = ()
    """v2: the deployments the notice is about, then the live ones."""
    reason: tuple[ReasonLine, ...] = ()
    """v2: the newest WARN/ERROR events when the notice was issued; empty when the feed had none or failed."""
    price_cents_per_hour: int | None = None
    """v1: one replica of ``hardware`` when the notice was issued (v2 prices each deployment); ``None``: unknown."""

    @property
    def key(self) -> str:
        """The alert-state key: the v1 id, or ``proj_…/ep_…`` (never the same as a v1 id)."""
        return EndpointRef(self.id, self.project_id).key

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> EndpointSnapshot:
        """Read back from a stored notice; the v2 fields and prices are optional (older notices lack them)."""
        fields = dict(document)
        deployments = deployments_from_json(fields.pop("deployments", None))
        reason = reasons_from_json(fields.pop("reason", None))
        return cls(**fields, deployments=deployments, reason=reason)

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["deployments"] = snapshots_to_json(self.deployments)
        document["reason"] = snapshots_to_json(self.reason)
        return document

    @classmethod
    def of(cls, endpoint: Endpoint, expected: Expectations) -> EndpointSnapshot:
        low, high = replica_bounds(endpoint.autoscaling)
        return cls(
            id=endpoint.id,
            display_name=endpoint.display_name,
            name=endpoint.name,
            model=endpoint.model,
            hardware=endpoint.hardware,
            state=endpoint.state,
            min_replicas=low,
            max_replicas=high,
            expected_min_replicas=expected.min_replicas,
            expected_max_replicas=expected.max_replicas,
        )

    @classmethod
    def of_v2(
        cls,
        endpoint: V2Endpoint,
        project_id: str,
        deployments: Sequence[Deployment] | None,
        expected: Expectations,
        findings: Sequence[Finding],
    ) -> EndpointSnapshot:
        """The endpoint as its primary deployment shows it (as the v1 view does), with the deployments concerned."""
        every = candidates(endpoint, deployments)
        primary = primary_deployment(endpoint, every)
        low, high = replica_bounds(primary.autoscaling if primary else None)
        name = endpoint.name or ""
        return cls(
            id=endpoint.id,
            display_name=name.partition("/")[2] or name,
            name=name,
            model=(primary.model if primary else None) or "",
            hardware=(primary.hardware if primary else None) or "",
            state=primary.state if primary else "no deployments",
            min_replicas=low,
            max_replicas=high,
            expected_min_replicas=expected.min_replicas,
            expected_max_replicas=expected.max_replicas,
            project_id=project_id,
            deployments=deployment_snapshots(
                every, live_weights(endpoint, every), (f.subject for f in findings if f.subject)
            ),
        )

    @classmethod
    def bare(cls, endpoint_id: str) -> EndpointSnapshot:
        """Only the id (or ``proj_…/ep_…``): a mute is set by id, without asking Together about the endpoint."""
        ref = _ref(endpoint_id)
        return cls(ref.endpoint_id, "", "", "", "", "", None, None, None, None, project_id=ref.project_id)


def _ref(key: str) -> EndpointRef:
    try:
        return parse_endpoint_ref(key, default_project=None)
    except ValueError:
        return EndpointRef(key)  # ids reach here validated; keep an unexpected one whole rather than fail


@dataclass(frozen=True)
class Notice:
    """One notification owed to every enabled sink."""

    id: str
    kind: NoticeKind
    endpoint: EndpointSnapshot
    findings: tuple[Finding, ...]
    """For a resolved notice, the findings that cleared."""
    opened_at: float
    """When the findings were first seen ("since when")."""
    created_at: float
    actor: str | None = None
    """Who muted or unmuted (announcements only)."""
    muted_until: float | None = None

    @classmethod
    def mute_change(cls, endpoint_id: str, until: float | None, *, actor: str, now: float) -> Notice:
        """The announcement of a mute (``until`` set) or an unmute."""
        kind = NoticeKind.MUTED if until is not None else NoticeKind.UNMUTED
        return cls(
            id=f"{endpoint_id}:{kind.value}:{int(now * 1000)}",
            kind=kind,
            endpoint=EndpointSnapshot.bare(endpoint_id),
            findings=(),
            opened_at=now,
            created_at=now,
            actor=actor[:200],
            muted_until=until,
        )

    @property
    def endpoint_id(self) -> str:
        """The alert-state key the notice is stored under (``proj_…/ep_…`` for v2)."""
        return self.endpoint.key

    @property
    def severity(self) -> Severity | None:
        return highest_severity(self.findings)

    @property
    def primary_kind(self) -> str:
        return self.findings[0].kind if self.findings else "none"

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind.value,
                "endpoint": self.endpoint.to_dict(),
                "findings": [_finding_dict(finding) for finding in self.findings],
                "opened_at": self.opened_at,
                "created_at": self.created_at,
                "actor": self.actor,
                "muted_until": self.muted_until,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Notice:
        document = json.loads(text)
        return cls(
            id=str(document["id"]),
            kind=NoticeKind(document["kind"]),
            endpoint=EndpointSnapshot.from_dict(document["endpoint"]),
            findings=findings_from_json(json.dumps(document["findings"])),
            opened_at=float(document["opened_at"]),
            created_at=float(document["created_at"]),
            actor=str(document["actor"]) if document.get("actor") is not None else None,
            muted_until=float(document["muted_until"]) if document.get("muted_until") is not None else None,
        )


def _finding_dict(finding: Finding) -> dict[str, Any]:
    document = {
        "kind": finding.kind,
        "severity": finding.severity.value,
        "message": finding.message,
        "expected": finding.expected,
        "actual": finding.actual,
    }
    if finding.subject is not None:  # v1 findings keep their stored form
        document["subject"] = finding.subject
    return document


def findings_to_json(findings: Iterable[Finding]) -> str:
    return json.dumps([_finding_dict(finding) for finding in findings], separators=(",", ":"))


def findings_from_json(text: str) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            kind=str(item["kind"]),
            severity=Severity(item["severity"]),
            message=str(item["message"]),
            expected=item.get("expected"),
            actual=item.get("actual"),
            subject=item.get("subject"),
        )
        for item in json.loads(text)
    )


@dataclass(frozen=True)
class AlertState:
    """What the store remembers about one endpoint, apart from delivery bookkeeping."""

    status: AlertStatus = AlertStatus.OK
    fingerprint: str | None = None
    """Identifies the set of open findings; None when nothing is open."""
    findings: tuple[Finding, ...] = ()
    opened_at: float | None = None
    """First seen: when the current set of findings opened."""
    announced: str | None = None
    """Fingerprint the last notice told people about; None when nobody has been told."""
    last_notified: float | None = None
    endpoint_state: str | None = None
    state_since: float | None = None
    """When the endpoint was first seen in ``endpoint_state`` (for the "stuck" check)."""
    clocks: Clocks | None = None
    """v2: each deployment's own start times; None for v1 and for state stored before they existed."""
    muted_until: float | None = None
    muted_by: str | None = None

    def is_muted(self, now: float) -> bool:
        return self.muted_until is not None and now < self.muted_until

    def _lifecycle(self) -> tuple[Any, ...]:
        # Finding messages carry durations that change every sweep; they alone never force a write.
        return (
            self.status,
            self.fingerprint,
            self.opened_at,
            self.announced,
            self.last_notified,
            self.endpoint_state,
            self.state_since,
            self.clocks,
        )


@dataclass(frozen=True)
class StoredAlert:
    state: AlertState
    version: int
    """Bumped by every lifecycle write and every mute change; writes are conditional on it."""
    notice: Notice | None = None
    due: frozenset[str] = frozenset()
    """Sinks that still owe ``notice``; a sink leaves this set only after a successful delivery."""


@dataclass(frozen=True)
class Decision:
    state: AlertState
    notice: Notice | None
    """A notice to issue now (to be delivered to every enabled sink)."""
    suppressed: NoticeKind | None
    """A notice that would have been issued, held back by a mute."""
    write: bool


def fingerprint(findings: Sequence[Finding]) -> str | None:
    if not findings:
        return None
    # A deployment's id joins the identity only when set, so v1 fingerprints stay what they were.
    identity = sorted(
        (f.kind, f.severity.value, f.expected or "", f.actual or "", *((f.subject,) if f.subject else ()))
        for f in findings
    )
    return hashlib.sha256(json.dumps(identity).encode("utf-8")).hexdigest()[:20]


def state_since(previous: AlertState | None, endpoint_state: str, now: float) -> float:
    """When the endpoint was first seen in its current state."""
    if previous is not None and previous.endpoint_state == endpoint_state and previous.state_since is not None:
        return previous.state_since
    return now


def decide(
    previous: AlertState | None,
    snapshot: EndpointSnapshot,
    findings: tuple[Finding, ...],
    *,
    now: float,
    repeat_interval: float = DEFAULT_REPEAT_INTERVAL,
    tracked_state: str | None = None,
    clocks: Clocks | None = None,
) -> Decision:
    """The next lifecycle state and the notice owed; v2 gives ``tracked_state`` and the ``clocks`` to keep."""
    prior = previous or AlertState()
    current_fp = fingerprint(findings)
    remembered = snapshot.state if tracked_state is None else tracked_state
    since = state_since(previous, remembered, now)
    base = replace(prior, endpoint_state=remembered, state_since=since, clocks=clocks, findings=findings)
    kind: NoticeKind | None
    if current_fp is None:
        kind = NoticeKind.RESOLVED if prior.status is AlertStatus.FIRING and prior.announced is not None else None
        following = replace(base, status=AlertStatus.OK, fingerprint=None, opened_at=None, announced=None)
        notice_findings = prior.findings
        opened_at = prior.opened_at if prior.opened_at is not None else now
    else:
        opened_at = prior.opened_at if prior.status is AlertStatus.FIRING and prior.opened_at is not None else now
        following = replace(base, status=AlertStatus.FIRING, fingerprint=current_fp, opened_at=opened_at)
        notice_findings = findings
        kind = _firing_notice(prior, current_fp, now, repeat_interval)

    if prior.is_muted(now):
        # Nobody hears anything while muted; forgetting what was announced makes the
        # endpoint alert again once the mute ends, if it is still unhealthy.
        following = replace(following, announced=None)
        return Decision(following, None, kind, following._lifecycle() != prior._lifecycle())

    notice = None
    if kind is not None:
        notice = Notice(
            id=f"{snapshot.id}:{kind.value}:{int(now * 1000)}",
            kind=kind,
            endpoint=snapshot,
            findings=notice_findings,
            opened_at=opened_at,
            created_at=now,
        )
        following = replace(following, announced=current_fp, last_notified=now)
    return Decision(following, notice, None, notice is not None or following._lifecycle() != prior._lifecycle())


def still_owed(notice: Notice, state: AlertState, now: float) -> bool:
    """Whether an owed notice still tells the truth about the endpoint in ``state``.

    A notice that fell behind (the endpoint recovered, its findings changed, it was
    muted) must never reach a channel late; a mute change is true whenever it lands.
    """
    if notice.kind.is_announcement:
        return True
    if state.is_muted(now):
        return False
    if notice.kind is NoticeKind.RESOLVED:
        return state.fingerprint is None
    return state.fingerprint is not None and state.fingerprint == fingerprint(notice.findings)


def _firing_notice(prior: AlertState, current_fp: str, now: float, repeat_interval: float) -> NoticeKind | None:
    if prior.announced is None:
        return NoticeKind.FIRING
    if prior.announced != current_fp:
        return NoticeKind.CHANGED
    if prior.last_notified is None or now - prior.last_notified >= repeat_interval:
        return NoticeKind.REMINDER
    return None


# --- what a sweep reports (shared with the Slack commands) ----------------------------------------------------------


@dataclass(frozen=True)
class EndpointCheck:
    endpoint_id: str
    state: str | None
    findings: tuple[Finding, ...]
    error: str | None = None
    muted: bool = False
    notice: NoticeKind | None = None
    """The notice this check issued, if any (delivery is reported in the sweep totals)."""


@dataclass(frozen=True)
class SweepReport:
    checks: tuple[EndpointCheck, ...]
    skipped: tuple[str, ...]
    """Targets not checked because the invocation was running out of time."""
    notifications_sent: int
    duration_ms: float
    delivery_failures: int = 0
    suppressed: int = 0

    @property
    def failures(self) -> tuple[EndpointCheck, ...]:
        return tuple(check for check in self.checks if check.error is not None)


# --- the ports the alert service depends on --------------------------------------------------------------------------


class DeliveryError(Exception):
    """A sink did not accept a notice. It stays owed and the next sweep retries it."""

    def __init__(self, message: str, *, kind: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        """Short, stable label for logs and metrics (``rate_limited``, ``timeout``, ``channel_not_found``...)."""
        self.permanent = permanent
        """True when repeating the same request cannot succeed until someone fixes configuration."""


@dataclass(frozen=True, slots=True)
class LifecycleWrite:
    """One conditional write of an endpoint's lifecycle: its state, and what becomes (or stops being) owed."""

    state: AlertState
    expected_version: int
    """Applied only if the stored version is still this one (0: the endpoint has no item yet)."""
    now: float
    notice: Notice | None = None
    """Becomes owed to ``sinks``, superseding any owed notice."""
    sinks: tuple[str, ...] = ()
    retract: bool = False
    """Drop the owed notice instead: it no longer matches the endpoint."""


@dataclass(frozen=True, slots=True)
class MuteChange:
    """Someone set (``until``) or cleared (``None``) an endpoint's mute, and the notice that announces it."""

    until: float | None
    actor: str
    now: float
    announcement: Notice | None = None
    """Owed to ``sinks`` from now on, in place of whatever was owed."""
    sinks: tuple[str, ...] = ()


class AlertStore(Protocol):
    def load(self, endpoint_id: str) -> StoredAlert | None: ...

    def save(self, endpoint_id: str, write: LifecycleWrite) -> bool:
        """Apply ``write`` if nobody wrote since its ``expected_version``; False if somebody did."""
        ...

    def claim(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float, lease: float) -> bool:
        """Take the right to deliver ``notice_id`` to ``sink`` for ``lease`` seconds; False if not owed or taken."""
        ...

    def mark_delivered(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, now: float) -> None: ...

    def release(self, endpoint_id: str, sink: str, notice_id: str, *, owner: str, permanent: bool = False) -> bool:
        """Give a claim back after a failed delivery; the notice stays owed.

        A permanent refusal is counted per notice and sink; the one that reaches
        :data:`MAX_PERMANENT_REFUSALS` retires the notice for that sink instead (True).
        """
        ...

    def set_mute(self, endpoint_id: str, change: MuteChange) -> None:
        """Set or clear the mute, forget what was announced, and make the change's announcement the owed notice.

        Whatever was owed before is dropped: an alert notice must not be delivered while
        muted, and a newer announcement supersedes an older one.
        """
        ...


class SweepCursor(Protocol):
    """Where the next sweep starts: the first target the last one had no time for."""

    def load(self) -> str | None: ...

    def save(self, endpoint_id: str | None) -> None: ...


class MemoryCursor:
    """A cursor for one container (alerting without a state table)."""

    def __init__(self) -> None:
        self._at: str | None = None

    def load(self) -> str | None:
        return self._at

    def save(self, endpoint_id: str | None) -> None:
        self._at = endpoint_id


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def deliver(self, notices: Sequence[Notice]) -> dict[str, DeliveryError | None]:
        """Deliver the notices; the answer maps every notice id to None (delivered) or its error."""
        ...
