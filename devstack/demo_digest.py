"""The demo's daily digest: SweepFunction invoked as the digest schedule would, and what each sink received.

Slack answers the first post with a 500, so the run shows the digest owed to Slack alone: a duplicate
delivery of the schedule then posts it to Slack only, and a third posts nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from devstack.events import load_event
from devstack.slack_receiver import ScriptedReply

if TYPE_CHECKING:
    from devstack.demo import Demo

SAMPLE = "scheduled_digest.json"


def run(demo: Demo) -> None:
    from devstack.demo import DemoStepError

    demo.out.section('Daily digest (EventBridge Scheduler -> SweepFunction, {"endpoint_relay": "digest"})')
    demo.out.say(
        "the fleet's $/day, the five most expensive deployments, the idle ones and what is firing; its UTC date"
        " is its de-duplication key in the alert table",
        2,
    )
    runs: tuple[tuple[str, list[str]], ...] = (
        ("the day's schedule fires; Slack's webhook answers 500 this once:", ["sns"]),
        (
            "EventBridge delivers the schedule again: only Slack, which still owes it, posts (the stored digest):",
            ["slack"],
        ),
        ("and once more: every sink has it, nothing is posted twice:", []),
    )
    demo.stack.slack.script(ScriptedReply(status=500, body="internal_error"))
    # As Scheduler fills in <aws.scheduler.scheduled-time>: every delivery of this run carries the same time.
    scheduled = {**load_event(SAMPLE), "scheduled_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for label, expected in runs:
        result = demo.sweep(label, scheduled)
        demo.notifications()
        report = result.get("digest") if isinstance(result, dict) else None
        posted = sorted(report.get("posted", [])) if isinstance(report, dict) else None
        if posted != expected:
            raise DemoStepError(f"the digest posted to {posted}, not {expected}")
