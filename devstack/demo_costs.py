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
from devstack.together_v2_docs import DEFAULT_PROJECT_ID, make_v2_deployment, make_v2_endpoint
from devstack.v2_seed import COSTLY_CENTS_PER_REPLICA_HOUR as CENTS_PER_REPLICA_HOUR
from devstack.v2_seed import COSTLY_INSTANCE_TYPE as INSTANCE_TYPE

if TYPE_CHECKING:
    from devstack.demo import Demo

COSTLY_ID = "ep_demo-costly"
COSTLY_DEPLOYMENT = "dep_demo-costly-1"
EXPECTED = "$95.76/h"


def seed(sim_v2: TogetherV2, project_id: str = DEFAULT_PROJECT_ID) -> None:
    """The endpoint, in the simulator's default project unless told (its instance type is in the catalogue from the
    start: ``seeded_instance_types``)."""
    deployment = make_v2_deployment(
        COSTLY_DEPLOYMENT,
        endpoint_id=COSTLY_ID,
        project_id=project_id,
        name="Rerank v2 (failed, still billing) / rollout 1",
        state="DEPLOYMENT_STATE_FAILED",
        min_replicas=3,
        max_replicas=3,
        desired_replicas=3,
        ready_replicas=3,
        hardware=INSTANCE_TYPE,
        message="Deployment failed: health check timed out after 600s",
    )
    endpoint = make_v2_endpoint(
        COSTLY_ID, project_id=project_id, name="Rerank v2 (failed, still billing)", deployments=[deployment]
    )
    sim_v2.put_endpoint(endpoint, [deployment])


def run(demo: Demo) -> None:
    from devstack.demo import DemoStepError, StepSkippedError

    demo.out.section("9. Cost: a FAILED deployment that still holds replicas, priced from Together's catalogue")
    project = demo.stack.options.default_project_id
    sim = demo.stack.together
    if project is None or sim is None:
        raise StepSkippedError("no v2 project: the demo's v2 endpoints live in the simulator's default project")
    seed(sim.v2)
    demo.out.say(
        f"seeded {COSTLY_ID}: deployment {COSTLY_DEPLOYMENT} FAILED with 3 ready replicas of {INSTANCE_TYPE},"
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
