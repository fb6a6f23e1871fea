"""The ``/together spend`` answer: the fleet's most expensive lines, one message within Block Kit's limits.

One message, not several: a response_url takes only five messages in half an hour, and the lines that
matter are the expensive ones, which come first. A fleet longer than :data:`MAX_LINES` ends with how many
more lines there are and what they cost together, and points at ``GET /relay/fleet`` for the whole list.
Upstream text (names, states) is escaped; ids go in code spans.
"""

from __future__ import annotations

from typing import Any

from endpoint_relay.core.block_kit import context, header, packed_sections, section
from endpoint_relay.core.cost import Spend
from endpoint_relay.core.fleet import Fleet, FleetLine
from endpoint_relay.core.money import per_day, per_hour
from endpoint_relay.core.mrkdwn import clip_mrkdwn, code_span, escape_mrkdwn
from endpoint_relay.core.v2_mrkdwn import short_state

Reply = dict[str, Any]

MAX_LINES = 60
"""Lines shown in the message: at most ~400 characters each, they pack into well under 50 sections."""
FLEET_ROUTE = "GET /relay/fleet"
_ALERT_EMOJI = {"firing": ":red_circle:", "muted": ":zzz:", "ok": ":white_check_mark:", "unknown": ":grey_question:"}


def spend_reply(fleet: Fleet) -> Reply:
    shown, rest = fleet.lines[:MAX_LINES], fleet.lines[MAX_LINES:]
    blocks: list[dict[str, Any]] = [header("Fleet spend")]
    if not fleet.lines:
        blocks.append(section("No deployment holds replicas right now."))
    # Each line is far shorter than a section and MAX_LINES lines never need more sections: none is cut or counted.
    blocks.extend(packed_sections([_line(line) for line in shown], max_sections=MAX_LINES))
    if rest:
        rest_cents = sum(line.spend.now_cents or 0 for line in rest)
        blocks.append(
            context(f"…and {len(rest)} more, {per_hour(rest_cents)} together: the whole list is at `{FLEET_ROUTE}`.")
        )
    notes = []
    if fleet.unpriced:
        notes.append(f"{fleet.unpriced} line(s) at an unknown price are left out of the total")
    if fleet.unreadable:
        names = ", ".join(code_span(source, 100) for source in fleet.unreadable[:10])
        notes.append(f"could not be read, so not counted: {names}")
    if notes:
        blocks.append(context(":warning: " + "; ".join(notes) + "."))
    total = f"{per_hour(fleet.cents_per_hour)} · {per_day(fleet.cents_per_hour)}"
    blocks.append(section(f"*Total:* {total} across {len(fleet.lines)} line(s)"))
    fallback = f"Fleet spend: {total} across {len(fleet.lines)} line(s)"
    return {"response_type": "ephemeral", "text": fallback, "blocks": blocks}


def _line(line: FleetLine) -> str:
    what = code_span(line.key, 200)
    if line.deployment_id:
        what += f" {code_span(line.deployment_id, 100)}"
    replicas = f"{line.spend.replicas} replica(s)" + (" (min, est.)" if line.spend.estimated else "")
    alert = escape_mrkdwn(line.alert)
    if line.findings:
        alert += " (" + ", ".join(code_span(kind, 60) for kind in line.findings[:5]) + ")"
    return (
        f"{_ALERT_EMOJI.get(line.alert, ':grey_question:')} {what} {clip_mrkdwn(line.name, 80)} · "
        f"{clip_mrkdwn(short_state(line.state), 40)} · {replicas} · {_money(line.spend)} · {alert}"
    )


def _money(spend: Spend) -> str:
    if spend.now_cents is None:  # the hardware id is upstream text: a code span, copied back exactly
        return f"*price unknown* ({code_span(spend.hardware or 'no hardware named', 100)})"
    return f"*{spend.text()}*"
