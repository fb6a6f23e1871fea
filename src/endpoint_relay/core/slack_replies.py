"""Ephemeral Block Kit replies to the slash command.

Every string that comes from upstream (names, models, states, error text) is
mrkdwn-escaped, so a display_name of ``<!channel>`` pings nobody, ``*bold*``
stays literal and a newline cannot forge a line; ids, models and hardware go in
code spans so they copy back exactly. Replies stay within Block Kit's limits: 50 blocks, 150-character
headers, 3000-character sections, 10 fields of 2000 characters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

from endpoint_relay.core.block_kit import MAX_FIELD_CHARS as MAX_FIELD_CHARS
from endpoint_relay.core.block_kit import MAX_HEADER_CHARS as MAX_HEADER_CHARS
from endpoint_relay.core.block_kit import MAX_SECTION_CHARS as MAX_SECTION_CHARS
from endpoint_relay.core.block_kit import context, header, packed_sections, section
from endpoint_relay.core.cost import v1_spend
from endpoint_relay.core.cost_words import spend_words, total_words
from endpoint_relay.core.models import Endpoint
from endpoint_relay.core.money import per_hour
from endpoint_relay.core.mrkdwn import clip_mrkdwn, code_span, escape_mrkdwn
from endpoint_relay.core.policy_v2 import candidates, live_weights
from endpoint_relay.core.prices import FixedPrices, Prices
from endpoint_relay.core.slack_commands import USAGE, format_duration
from endpoint_relay.core.v1_view import primary_deployment
from endpoint_relay.core.v2_models import Deployment
from endpoint_relay.core.v2_models import Endpoint as V2Endpoint
from endpoint_relay.core.v2_mrkdwn import deployment_line, short_state
from endpoint_relay.core.v2_notice import DeploymentSnapshot

Reply = dict[str, Any]

MAX_BLOCKS = 50
MAX_FIELDS = 10
MAX_FALLBACK_CHARS = 3000
_MAX_VALUE_CHARS = 300
"""One upstream value (a name, a model, a state) in a field or a line."""

_SEVERITY_EMOJI = {"critical": ":red_circle:", "warning": ":warning:"}
_HELP = {
    "status": "one endpoint, with its findings (a v2 endpoint with a line per deployment)",
    "check": "check every watched endpoint now and summarise; with an id, fetch that one afresh and alert on it",
    "spend": "what the fleet bills: every deployment holding replicas, most expensive first, with totals",
    "mute": "silence notifications for one endpoint (at most 7d)",
    "unmute": "lift the silence",
    "help": "this list",
}
"""What each command of ``USAGE`` does, in the order the help lists them."""


class FindingView(Protocol):
    """What a reply shows of a policy finding (``endpoint_relay.core.policy.Finding``)."""

    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> object: ...
    @property
    def message(self) -> str: ...


class EndpointCheckView(Protocol):
    """One endpoint of a sweep (``endpoint_relay.core.alerting.EndpointCheck``)."""

    @property
    def endpoint_id(self) -> str: ...
    @property
    def state(self) -> str | None: ...
    @property
    def findings(self) -> Sequence[FindingView]: ...
    @property
    def error(self) -> str | None: ...
    @property
    def muted(self) -> bool: ...


class SweepReportView(Protocol):
    """A finished sweep (``endpoint_relay.core.alerting.SweepReport``)."""

    @property
    def checks(self) -> Sequence[EndpointCheckView]: ...
    @property
    def skipped(self) -> Sequence[str]: ...
    @property
    def notifications_sent(self) -> int: ...


# -- building blocks ----------------------------------------------------------------------------------------------


def _reply(fallback: str, blocks: list[dict[str, Any]]) -> Reply:
    """``fallback`` is mrkdwn, escaped by the caller: it is what notifications show, and Slack parses it."""
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks[:MAX_BLOCKS]}


def _fields(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Label/value pairs; values are mrkdwn, escaped by the caller."""
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in pairs[:MAX_FIELDS]]
    return {"type": "section", "fields": fields}


def _code(identifier: str) -> str:
    return code_span(identifier, _MAX_VALUE_CHARS) if identifier else "-"


def _text(value: str) -> str:
    return clip_mrkdwn(value, _MAX_VALUE_CHARS) if value else "-"


def _date(epoch: float) -> str:
    """A Slack date token: shown in the reader's own time zone, with a UTC fallback."""
    seconds = int(epoch)
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))
    return f"<!date^{seconds}^{{date_short_pretty}} {{time}}|{fallback}>"


def _severity(finding: FindingView) -> str:
    value = getattr(finding.severity, "value", finding.severity)
    return str(value).lower()


def _finding_line(finding: FindingView) -> str:
    severity = _severity(finding)
    emoji = _SEVERITY_EMOJI.get(severity, ":grey_question:")
    return f"{emoji} *{escape_mrkdwn(severity)}* {clip_mrkdwn(finding.message, MAX_SECTION_CHARS - 40)}"


# -- replies ------------------------------------------------------------------------------------------------------


def help_reply(command: str = "/together", *, unknown: bool = False) -> Reply:
    lines = [f"{code_span(f'{command} {USAGE[verb]}')}: {what}" for verb, what in _HELP.items()]
    intro = "Sorry, I did not understand that. " if unknown else ""
    ids = (
        "An endpoint id is `endpoint-…` (v1), `ep_…` (v2, in the relay's default project) or `proj_…/ep_…` "
        "(v2, in another project the relay serves)."
    )
    blocks = [section(f"{intro}Here is what I can do:"), section("\n".join(lines)), context(ids)]
    return _reply(f"{intro}Commands: {', '.join(USAGE)}", blocks)


def argument_error_reply(message: str) -> Reply:
    escaped = clip_mrkdwn(message, MAX_FALLBACK_CHARS)
    hint = context("Type `help` after the command to see every command.")
    return _reply(escaped, [section(f":information_source: {escaped}"), hint])


def team_refused_reply() -> Reply:
    text = "Sorry, this workspace is not allowed to use this relay. Ask its operators to add it."
    return _reply(text, [section(f":no_entry: {text}")])


def mute_refused_reply(*, allow_list_empty: bool = False) -> Reply:
    if allow_list_empty:
        text = (
            "Muting is off: nobody is allowed to mute or unmute yet. An operator can allow people by setting the "
            "stack parameter SlackMuteUserIds to their Slack user ids (U0123ABCD, or T0123ABCD:U0123ABCD for one "
            "workspace)."
        )
    else:
        text = "Sorry, you are not on the list of people who may mute or unmute endpoints."
    return _reply(text, [section(f":no_entry: {text}")])


def acknowledgement_reply(what: str) -> Reply:
    """``what`` is mrkdwn built by the caller (such as a code span holding a validated id)."""
    text = f"Checking {what}… the answer follows in a moment."
    return _reply(text, [section(f":hourglass_flowing_sand: {text}")])


def check_busy_reply(cooldown_seconds: int, endpoint_id: str | None = None) -> Reply:
    """A ``check`` within the workspace's cooldown: the one already started (or just finished) stands."""
    if endpoint_id is not None:
        text = (
            f"{_code(endpoint_id)} was checked in this workspace in the last {format_duration(cooldown_seconds)}; "
            "its answer went to whoever asked. Try again later, or use `status` for the cached view."
        )
        return _reply(text, [section(f":hourglass: {text}")])
    text = (
        "A check of the watched endpoints is already running in this workspace, or ran in the last "
        f"{format_duration(cooldown_seconds)}; its summary went to whoever asked. "
        "Try again later, or use `status <endpoint-id>` for one endpoint."
    )
    return _reply(text, [section(f":hourglass: {text}")])


def failure_reply(message: str) -> Reply:
    """Something went wrong on our side or upstream; ``message`` is caller-safe text."""
    escaped = clip_mrkdwn(message, MAX_FALLBACK_CHARS)
    return _reply(escaped, [section(f":x: {escaped}")])


def not_found_reply(endpoint_id: str) -> Reply:
    text = f"Together does not know endpoint {_code(endpoint_id)}."
    return _reply(text, [section(f":grey_question: {text}")])


def status_reply(
    endpoint: Endpoint,
    findings: Sequence[FindingView],
    *,
    age_seconds: int,
    muted_until: float | None = None,
    price_cents_per_hour: int | None = None,
) -> Reply:
    """A v1 endpoint; ``price_cents_per_hour`` is one replica of its hardware (``None``: price unknown)."""
    autoscaling = endpoint.autoscaling
    replicas = f"{autoscaling.min_replicas} to {autoscaling.max_replicas}" if autoscaling else "unknown"
    blocks: list[dict[str, Any]] = [
        header(f"{endpoint.display_name or endpoint.id}: {endpoint.state}"),
        _fields(
            [
                ("Endpoint", _code(endpoint.id)),
                ("State", _text(endpoint.state)),
                ("Model", _code(endpoint.model)),
                ("Hardware", _code(endpoint.hardware)),
                ("Replicas (min to max)", replicas),
                ("Name", _text(endpoint.display_name)),
                ("Cost", spend_words(v1_spend(endpoint, price_cents_per_hour))),
            ]
        ),
    ]
    verdict = _findings_and_age(blocks, findings, MAX_BLOCKS - 4, age_seconds=age_seconds, muted_until=muted_until)
    return _reply(f"{_code(endpoint.id)}: {_text(endpoint.state)}, {verdict}", blocks)


def v2_status_reply(
    endpoint: V2Endpoint,
    deployments: Sequence[Deployment] | None,
    findings: Sequence[FindingView],
    *,
    age_seconds: int,
    muted_until: float | None = None,
    prices: Prices | None = None,
) -> Reply:
    """A v2 endpoint: one line per deployment (state, ready/desired, min-max, weight, hardware, cost), then findings.

    ``prices`` prices each deployment's hardware; without it every price reads as unknown.
    """
    every = candidates(endpoint, deployments)
    weights = live_weights(endpoint, every)
    priced = prices or FixedPrices()
    snapshots = [DeploymentSnapshot.of(d, weights.get(d.id), priced.cents_per_hour(d.hardware)) for d in every]
    primary = primary_deployment(endpoint, every)
    state = short_state(primary.state) if primary else "no deployments"
    name = endpoint.name or endpoint.id
    blocks: list[dict[str, Any]] = [
        header(f"{name}: {state}"),
        _fields(
            [
                ("Endpoint", _code(endpoint.id)),
                ("Project", _code(endpoint.project_id or "")),
                ("Name", _text(name)),
                ("Cost", total_words([snapshot.spend for snapshot in snapshots]) if every else per_hour(0)),
            ]
        ),
    ]
    lines = [deployment_line(snapshot) for snapshot in snapshots]
    blocks.extend(packed_sections(["*Deployments*", *lines] if lines else ["_No deployments._"], max_sections=10))
    room = MAX_BLOCKS - len(blocks) - 1
    verdict = _findings_and_age(blocks, findings, room, age_seconds=age_seconds, muted_until=muted_until)
    return _reply(f"{_code(endpoint.id)}: {_text(state)}, {len(every)} deployment(s), {verdict}", blocks)


def _findings_and_age(
    blocks: list[dict[str, Any]],
    findings: Sequence[FindingView],
    room: int,
    *,
    age_seconds: int,
    muted_until: float | None,
) -> str:
    """Append a status reply's findings (in at most ``room`` sections) and how old its data is; return the verdict."""
    if findings:
        blocks.extend(packed_sections([_finding_line(finding) for finding in findings], max_sections=room))
    else:
        blocks.append(section(":white_check_mark: No findings: this endpoint meets the policy."))
    age = f"Data from Together, {age_seconds}s old."
    if muted_until is not None:
        age += f" :zzz: Notifications muted until {_date(muted_until)}."
    blocks.append(context(age))
    return f"{len(findings)} finding(s)" if findings else "no findings"


def mute_reply(endpoint_id: str, until_epoch: float, duration_seconds: int) -> Reply:
    text = f"Muted {_code(endpoint_id)} for {format_duration(duration_seconds)}."
    body = (
        f":zzz: Notifications for {_code(endpoint_id)} are muted for {format_duration(duration_seconds)}, "
        f"until {_date(until_epoch)}. Sweeps still check it."
    )
    return _reply(text, [section(body)])


def unmute_reply(endpoint_id: str) -> Reply:
    text = f"Unmuted {_code(endpoint_id)}."
    return _reply(text, [section(f":bell: Notifications for {_code(endpoint_id)} are back on.")])


def check_summary_reply(report: SweepReportView) -> Reply:
    checks = list(report.checks)
    failed = [check for check in checks if check.error]
    with_findings = [check for check in checks if check.findings and not check.error]
    muted = sum(1 for check in checks if check.muted)
    summary = (
        f"*{len(checks)}* checked · *{len(with_findings)}* with findings · *{len(failed)}* could not be read · "
        f"*{muted}* muted · *{report.notifications_sent}* notification(s) sent"
    )
    if report.skipped:
        summary += f" · *{len(report.skipped)}* not reached in time"
    # Problems first, so truncation never hides them behind healthy endpoints.
    ordered = failed + with_findings + [check for check in checks if not check.error and not check.findings]
    lines = [_check_line(check) for check in ordered]
    lines += [f":hourglass: {_code(endpoint_id)} not reached in time" for endpoint_id in report.skipped]
    blocks = [header("Endpoint check"), section(summary)]
    if lines:
        blocks.extend(packed_sections(lines, max_sections=MAX_BLOCKS - len(blocks)))
    else:
        blocks.append(section("No endpoints are being watched."))
    fallback = f"{len(checks)} checked, {len(with_findings)} with findings, {len(failed)} could not be read"
    return _reply(fallback, blocks)


def _check_line(check: EndpointCheckView) -> str:
    muted = " :zzz:" if check.muted else ""
    state = clip_mrkdwn(check.state, 100) if check.state else "?"
    if check.error:
        return f":x: {_code(check.endpoint_id)}{muted} could not be read: {clip_mrkdwn(check.error, 300)}"
    if not check.findings:
        return f":white_check_mark: {_code(check.endpoint_id)}{muted} {state}"
    worst = "critical" if any(_severity(f) == "critical" for f in check.findings) else "warning"
    messages = "; ".join(finding.message for finding in check.findings)
    return f"{_SEVERITY_EMOJI[worst]} {_code(check.endpoint_id)}{muted} {state}: {clip_mrkdwn(messages, 600)}"
