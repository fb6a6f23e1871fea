"""Demo step "costed notice": a FAILED v2 deployment that still holds 3 replicas, and what its notice says it bills.

The endpoint is seeded when the step runs; its instance type is in the simulator's catalogue from the start
(devstack/v2_seed.py, 3192 cents per replica-hour), since the relay keeps the catalogue for an hour. The step looks
the endpoint up through the relay and shows the Slack and SNS notices: ``$95.76/h``, paid for replicas that do not
serve. Then ``/together status`` of the same endpoint shows the same cost.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from devstack.together_sim_v2 import TogetherV2
from devstack.v2_seed import COSTLY_CENTS_PER_REPLICA_HOUR as CENTS_PER_REPLICA_HOUR
from devstack.v2_seed import COSTLY_INSTANCE_TYPE as INSTANCE_TYPE
from devstack.v2_seed import V2_COSTLY_ID as COSTLY_ID
from devstack.v2_seed import SeededV2, costly_v2_endpoint

if TYPE_CHECKING:
    from devstack.demo import Demo

EXPECTED = "$95.76/h"


def seed(sim_v2: TogetherV2) -> SeededV2:
    """The endpoint, in the simulator's default project (its instance type is in the catalogue from the start)."""
    seeded = costly_v2_endpoint()
    sim_v2.put_endpoint(seeded.endpoint, seeded.deployments)
    return seeded


def run(demo: Demo) -> None:
    from devstack.demo import DemoStepError

    demo.out.section("9. Cost: a FAILED deployment that still holds replicas, priced from Together's catalogue")
    project, sim = demo.v2_simulator()
    [deployment] = seed(sim.v2).deployments
    demo.out.say(
        f"seeded {COSTLY_ID}: deployment {deployment['id']} FAILED with 3 ready replicas of {INSTANCE_TYPE},"
        f" which the instance-type catalogue prices at {CENTS_PER_REPLICA_HOUR} cents per replica-hour",
        2,
    )
    catalogue_before = sim.call_count("/v2/public/inference-instance-types")
    webhooks_before = len(demo.stack.slack.messages("/services"))
    response = demo._relay_get(f"/v2/projects/{project}/endpoints/{COSTLY_ID}")
    demo.out.say(f"-> {response['statusCode']}  X-Cache: {(response.get('headers') or {}).get('X-Cache')}", 4)
    demo.digest()
    demo.after_async()
    webhooks = demo.stack.slack.messages("/services")[webhooks_before:]
    demo.out.say("the notice it raised:", 2)
    demo.notifications()
    catalogue_calls = sim.call_count("/v2/public/inference-instance-types") - catalogue_before
    how = "read for this notice" if catalogue_calls else "already read for an earlier notice"
    demo.out.say(f"instance-type catalogue calls: {catalogue_calls} ({how}; the relay keeps it for an hour)", 2)
    costed = [message for message in webhooks if COSTLY_ID in json.dumps(message.json(), ensure_ascii=False)]
    if not any(EXPECTED in json.dumps(message.json(), ensure_ascii=False) for message in costed):
        raise DemoStepError(f"the notice for {COSTLY_ID} does not show {EXPECTED}")
    demo.out.say("/together status of the same endpoint:", 2)
    demo._slash_command(f"status {COSTLY_ID}")
