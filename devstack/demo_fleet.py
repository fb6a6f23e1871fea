"""Demo step "fleet spend": `/together spend` and GET /relay/fleet, shown side by side, and checked to agree."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from endpoint_relay.core.money import per_day, per_hour

if TYPE_CHECKING:
    from devstack.demo import Demo

_KEY_IN_LINE = re.compile(r"`((?:proj_[\w-]+/ep_[\w-]+)|(?:endpoint-[\w-]+))`(?: `(dep_[\w-]+)`)?")


def run(demo: Demo) -> None:
    from devstack.demo import DemoStepError

    demo.out.section("Fleet spend: /together spend and GET /relay/fleet (one view, two forms)")
    replies_before = len(demo.stack.slack.messages("/commands"))
    demo._slash_command("spend")
    replies = demo.stack.slack.messages("/commands")[replies_before:]
    if not replies:
        raise DemoStepError("/together spend posted no answer to its response_url")
    reply: dict[str, Any] = replies[-1].json()

    response = demo._relay_get("/relay/fleet")
    headers = response.get("headers") or {}
    demo.out.say(f"-> {response['statusCode']}  X-Cache: {headers.get('X-Cache')}", 4)
    demo.digest()
    if response["statusCode"] != 200:
        raise DemoStepError(f"GET /relay/fleet answered {response['statusCode']}: {response.get('body')}")
    fleet: dict[str, Any] = json.loads(response["body"])
    total = fleet["totalCentsPerHour"]
    demo.out.say(
        f"body: {len(fleet['data'])} line(s), totalCentsPerHour {total}, totalCentsPerDay {fleet['totalCentsPerDay']}, "
        f"unpricedLines {fleet['unpricedLines']}, unreadableSources {fleet['unreadableSources']}",
        4,
    )
    for line in fleet["data"]:
        where = f"{line['key']} {line['deploymentId'] or ''}".strip()
        demo.out.say(
            f"{where}  {line['state']}  replicas {line['replicas']}  {line['hardware']}  "
            f"centsPerHour {line['centsPerHour']}  alert {line['alert']} {line['findings'] or ''}".rstrip(),
            6,
        )

    sections = "\n".join(block["text"]["text"] for block in reply["blocks"] if block["type"] == "section")
    shown = [(key, deployment or None) for key, deployment in _KEY_IN_LINE.findall(sections)]
    listed = [(line["key"], line["deploymentId"]) for line in fleet["data"]]
    closing = f"*Total:* {per_hour(total)} · {per_day(total)} across {len(listed)} line(s)"
    agree = shown == listed and reply["blocks"][-1]["text"]["text"] == closing
    demo.out.say(f"agree: same {len(listed)} line(s) in the same order, same total ({per_hour(total)}): {agree}", 2)
    if not agree:
        raise DemoStepError("/together spend and GET /relay/fleet disagree about the fleet")
