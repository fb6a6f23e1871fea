"""Benchmark: a sweep "all" over 1,000 v2 endpoints, against the same sweep fetching each endpoint with a GET.

The child (``python -m benchmarks.sweep_v2``) runs a simulator of its own in-process, so it can seed
v2 endpoints and read the simulator's call counts directly; 50 ms is added to every answer, as in
the v1 sweep benchmark. A few endpoints carry a FAILED deployment, so they fire on the first sweep.

- "all": each project's list pages (``page_size`` of the response cap), evaluated from the embedded
  deployments; upstream calls are the v2 calls (pages, plus one events call per newly firing endpoint
  when the events feed is wired), reported beside v1's list call;
- per-endpoint GETs: the same 1,000 endpoints as watched ``proj_…/ep_…`` targets, one GET each.

Counts are the measure; times are reported to show what the counts cost at that latency.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

from benchmarks.stack import (
    TOGETHER_API_KEY,
    V2_PROJECT_ID,
    Stack,
    count_child_args,
    run_child,
    seed_v2_endpoints,
    write_result,
)

LATENCY_SECONDS = 0.05
FIRING = 5


def measure(stack: Stack, count: int) -> dict[str, Any]:
    env = stack.relay_env(CACHE_TABLE_NAME=None, TOGETHER_PROJECT_ID=V2_PROJECT_ID)
    return run_child("sweep_v2", ["--count", str(count)], env, timeout=600)


def _v2_calls(calls: Counter[str]) -> int:
    return sum(value for label, value in calls.items() if label.startswith("/v2/"))


def main() -> None:
    args = count_child_args()

    import os

    from devstack.together_sim import TogetherSimulator
    from endpoint_relay.app.v2_listing import list_calls, page_size
    from endpoint_relay.settings import Settings
    from endpoint_relay.wiring.sweep import build_sweep

    with TogetherSimulator(api_keys={TOGETHER_API_KEY}) as sim:
        keys = seed_v2_endpoints(
            sim.v2,
            "bench",
            args.count,
            lambda index: {"state": "DEPLOYMENT_STATE_FAILED" if index < FIRING else "DEPLOYMENT_STATE_READY"},
        )
        os.environ["TOGETHER_API_BASE_URL"] = sim.base_url
        settings = Settings.from_env()
        graph = build_sweep(settings)
        graph.shared.deadline.arm(900_000)  # Lambda's 15-minute maximum: this sweep never runs short
        graph.sweeps.run(keys[:1])  # warm: secret, connections
        sim.latency = LATENCY_SECONDS

        def timed(targets: list[str] | None) -> dict[str, Any]:
            sim.calls.clear()
            started = time.perf_counter()
            report = graph.sweeps.run(targets)
            wall = time.perf_counter() - started
            if report.skipped or report.failures or len(report.checks) != args.count:
                raise SystemExit(f"sweep incomplete: {len(report.checks)} checked, {len(report.skipped)} skipped")
            return {"wall_s": round(wall, 3), "v2_calls": _v2_calls(sim.calls), "v1_calls": sim.calls["<list>"]}

        size = page_size(settings.upstream.max_response_bytes)
        listing = timed(["all"])
        per_get = timed(keys)
    write_result(
        args.out,
        {
            "measured": True,
            "endpoints": args.count,
            "upstream_latency_ms": LATENCY_SECONDS * 1000,
            "page_size": size,
            "firing": FIRING,
            "allowed_calls": list_calls(args.count, size) + FIRING,
            "ideal_list_calls": math.ceil(args.count / size),
            "list_all": listing,
            "per_endpoint_gets": per_get,
        },
    )


if __name__ == "__main__":
    main()
