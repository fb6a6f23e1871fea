"""The demo's idle-spend step: a READY deployment nobody calls fires a notice that says what it cost.

The policy (devstack/v2_seed.py) gives ``ep_demo-idle`` a 3-minute ``idle_after_hours``,
so the demo need not wait a day. The step puts the endpoint in the simulator, sweeps
it twice, and shows the simulator's count of analytics calls: the second sweep,
within a quarter window, reuses the first answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devstack import stack as local
from devstack.v2_seed import IDLE_DEMO_HOURS, V2_IDLE_ID, idle_v2_endpoint

if TYPE_CHECKING:
    from devstack.demo import Demo


def run(demo: Demo) -> None:
    from devstack.demo import DemoStepError

    demo.out.section("Idle spend: a READY deployment nobody calls (sweeps only, analytics at most every window/4)")
    project, together = demo.v2_simulator()
    seeded = idle_v2_endpoint()
    together.v2.put_endpoint(seeded.endpoint, seeded.deployments)
    [deployment] = seeded.deployments
    demo.out.say(
        f"{V2_IDLE_ID}: {deployment['id']} READY with {deployment['status']['readyReplicas']} replicas on"
        f" {deployment['hardware']}, created {deployment['createdAt']}, no requests since;"
        f" policy idle_after_hours {IDLE_DEMO_HOURS} ({IDLE_DEMO_HOURS * 60:g} min, so the demo need not wait)",
        2,
    )
    analytics = f"/v2/projects/{project}/endpoints/{V2_IDLE_ID}/analytics"
    delivered = 0
    for attempt in (1, 2):
        event = local.scheduled_event(demo.stack)
        if event is None:
            raise DemoStepError(f"no events/{local.SCHEDULED_SWEEP_SAMPLE} to sweep with")
        event["endpoints"] = [f"{project}/{V2_IDLE_ID}"]
        label = "a sweep of the idle endpoint:" if attempt == 1 else "the sweep again: nothing new is owed"
        demo.sweep(label, event)
        delivered += demo.notifications()
        demo.out.say(f"analytics calls the simulator has answered so far: {together.call_count(analytics)}", 4)
    if not delivered:
        raise DemoStepError("the sweep sent no idle-spend notice")
    if not 1 <= together.call_count(analytics) <= 2:
        raise DemoStepError(f"expected one analytics call per quarter window, saw {together.call_count(analytics)}")
