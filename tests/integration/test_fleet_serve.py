"""Through `make serve`: `/together spend` and GET /relay/fleet agree on the same fleet (same lines, same totals)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.slack_receiver import SlackReceiver
from devstack.together_sim import TogetherSimulator, make_endpoint
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from endpoint_relay.core.money import per_day, per_hour
from tests.integration.serve_support import Served, http_request, signed_command, v2_serve_fixtures

KEY = "tgp-serve-fleet-" + "k" * 16
PROJECT = "proj_3Fv7QpN2sK8wYd5Rb1Tm"
V1_ID = "endpoint-5e1f0b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
RESPONSES = "/commands/"
WAIT = 30.0
"""Upper bound for the deferred answer to arrive; it normally takes well under a second."""
_KEY_IN_LINE = re.compile(r"`((?:proj_[\w-]+/ep_[\w-]+)|(?:endpoint-[\w-]+))`(?: `(dep_[\w-]+)`)?")


@pytest.fixture(scope="module")
def upstream() -> Iterator[TogetherSimulator]:
    with TogetherSimulator(api_keys={KEY}) as sim:
        for number, (state, replicas, hardware) in enumerate(
            [
                ("DEPLOYMENT_STATE_FAILED", 3, "2xnvidia-h100-80gb"),
                ("DEPLOYMENT_STATE_READY", 2, "1xnvidia-h200-141gb"),
                ("DEPLOYMENT_STATE_READY", 1, "1xnvidia-h100-80gb"),
                ("DEPLOYMENT_STATE_STOPPED", 0, "1xnvidia-h100-80gb"),
            ]
        ):
            endpoint_id = f"ep_fleetserve0000000{number}"
            deployment = make_v2_deployment(
                f"dep_fleetserve000000{number}",
                endpoint_id=endpoint_id,
                project_id=PROJECT,
                state=state,
                hardware=hardware,
                min_replicas=max(replicas, 1),
                max_replicas=5,
            )
            deployment["readyReplicas"] = replicas  # a FAILED one may still hold (and bill) replicas
            if isinstance(deployment.get("status"), dict):
                deployment["status"]["readyReplicas"] = replicas
            sim.v2.put_endpoint(
                make_v2_endpoint(endpoint_id, project_id=PROJECT, deployments=[deployment]), [deployment]
            )
        sim.put(make_endpoint(V1_ID, min_replicas=2))
        yield sim


slack, served = v2_serve_fixtures(key=KEY, project=PROJECT)


def _spend(served: Served, slack: SlackReceiver) -> dict[str, Any]:
    response_url = f"{slack.url}{RESPONSES}T0001/1/spend"
    acknowledgement = signed_command(served, "spend", response_url)
    assert acknowledgement.status == 200, acknowledgement.body
    assert "what the fleet bills" in acknowledgement.body.decode()
    (answer,) = slack.wait_for(1, timeout=WAIT, path_prefix=RESPONSES)
    document: dict[str, Any] = answer.json()
    return document


def test_spend_and_the_fleet_route_agree_on_the_same_fleet(served: Served, slack: SlackReceiver) -> None:
    # When someone asks Slack for the spend, and an internal tool reads GET /relay/fleet
    reply = _spend(served, slack)
    route = http_request(served.url + "/relay/fleet", headers={"Authorization": f"Bearer {served.token}"})
    assert route.status == 200, route.body
    fleet: Any = route.json()
    # Then both (each function builds its own view, as in Lambda) show the same lines, most expensive first
    text = "\n".join(block["text"]["text"] for block in reply["blocks"] if block["type"] == "section")
    shown = [(key, deployment or None) for key, deployment in _KEY_IN_LINE.findall(text)]
    assert shown == [(line["key"], line["deploymentId"]) for line in fleet["data"]]
    assert len(shown) == 4  # three v2 deployments holding replicas and the running v1 endpoint
    # Each line with its state, replicas and alert status
    rows = [row for row in text.splitlines() if _KEY_IN_LINE.search(row)]
    for line, row in zip(fleet["data"], rows, strict=True):
        assert f"{line['replicas']} replica(s)" in row and f"· {line['alert']}" in row
        assert line["state"].removeprefix("DEPLOYMENT_STATE_") in row
        cents = line["centsPerHour"]
        assert (per_hour(cents) if cents is not None else "price unknown") in row
    # And the same totals, $/h and $/day
    total = fleet["totalCentsPerHour"]
    assert reply["blocks"][-1]["text"]["text"] == (
        f"*Total:* {per_hour(total)} · {per_day(total)} across {len(fleet['data'])} line(s)"
    )
    assert fleet["totalCentsPerDay"] == total * 24
    # Priced from the simulator's catalogues: 3 x 698 + 2 x 449 + 1 x 349 (v2) and 2 x 698 (v1 at its minimum)
    assert (total, fleet["unpricedLines"]) == (3 * 698 + 2 * 449 + 349 + 2 * 698, 0)
    json.dumps(fleet)  # the documented schema is plain JSON
