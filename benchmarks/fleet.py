"""Benchmark: the fleet spend view (GET /relay/fleet) over 1,000 v2 endpoints, counted on the simulator.

The child (``python -m benchmarks.fleet``) runs a simulator of its own in-process, so it can seed the
endpoints and read its call counts directly. Every endpoint holds replicas on a priced instance type, so
every one is a line. Together's v1 API answers as retired (one call, reported apart): the target is about
what the v2 fleet costs, ⌈N/page⌉ list calls plus one instance-type catalogue call for all the prices.
The view is read through the real route handler, twice: the second read is the cached build.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from benchmarks.stack import (
    RELAY_TOKEN,
    TOGETHER_API_KEY,
    V2_PROJECT_ID,
    Stack,
    count_child_args,
    run_child,
    seed_v2_endpoints,
    write_result,
)

LIST_LABEL = f"/v2/projects/{V2_PROJECT_ID}/endpoints"
CATALOGUE_LABEL = "/v2/public/inference-instance-types"


def measure(stack: Stack, count: int) -> dict[str, Any]:
    # No shared tier: a catalogue another benchmark left in the table would hide the call being counted.
    env = stack.relay_env(CACHE_TABLE_NAME=None, TOGETHER_PROJECT_ID=V2_PROJECT_ID)
    return run_child("fleet", ["--count", str(count)], env, timeout=600)


def main() -> None:
    args = count_child_args()

    import os

    from devstack.events import FakeLambdaContext, http_event
    from devstack.together_sim import TogetherSimulator
    from endpoint_relay.app.v2_listing import list_calls, page_size
    from endpoint_relay.entrypoints.api import create_handler
    from endpoint_relay.settings import Settings
    from endpoint_relay.wiring.api import build_api

    with TogetherSimulator(api_keys={TOGETHER_API_KEY}) as sim:
        sim.v1_retired = 410
        seed_v2_endpoints(sim.v2, "fleet", args.count, lambda index: {"min_replicas": 1 + index % 3})
        os.environ["TOGETHER_API_BASE_URL"] = sim.base_url
        settings = Settings.from_env()
        graph = build_api(settings)
        handler = create_handler(graph)
        graph.shared.secrets.get()  # warm the secret: its fetch is AWS's, not Together's
        event = http_event("GET", "/relay/fleet", headers={"Authorization": f"Bearer {RELAY_TOKEN}"})

        def read() -> tuple[dict[str, Any], str, float]:
            started = time.perf_counter()
            response = handler(event, FakeLambdaContext())
            wall = time.perf_counter() - started
            if response["statusCode"] != 200:
                raise SystemExit(f"GET /relay/fleet answered {response['statusCode']}: {response['body'][:300]}")
            return json.loads(response["body"]), response["headers"]["X-Cache"], wall

        sim.calls.clear()
        fleet, first_cache, first_wall = read()
        calls = dict(sim.calls)
        _, second_cache, second_wall = read()
        second_calls = sum(sim.calls.values()) - sum(calls.values())
        size = page_size(settings.upstream.max_response_bytes)
    if len(fleet["data"]) != args.count or fleet["unpricedLines"]:
        raise SystemExit(f"fleet incomplete: {len(fleet['data'])} lines, {fleet['unpricedLines']} unpriced")
    write_result(
        args.out,
        {
            "measured": True,
            "endpoints": args.count,
            "page_size": size,
            "allowed_calls": list_calls(args.count, size) + 1,
            "ideal_list_calls": math.ceil(args.count / size),
            "list_calls": calls.get(LIST_LABEL, 0),
            "catalogue_calls": calls.get(CATALOGUE_LABEL, 0),
            "v1_calls": calls.get("<v1 retired>", 0) + calls.get("<list>", 0),
            "other_calls": {
                label: value
                for label, value in calls.items()
                if label not in (LIST_LABEL, CATALOGUE_LABEL, "<v1 retired>", "<list>")
            },
            "lines": len(fleet["data"]),
            "total_cents_per_hour": fleet["totalCentsPerHour"],
            "first": {"wall_s": round(first_wall, 3), "x_cache": first_cache},
            "second": {"wall_s": round(second_wall, 4), "x_cache": second_cache, "upstream_calls": second_calls},
        },
    )


if __name__ == "__main__":
    main()
