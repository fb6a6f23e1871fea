"""Benchmark: what the v1 view of a v2 endpoint adds to a lookup (target: under 50 µs).

``GET /v1/endpoints/ep_…`` answers from the v2 endpoint the relay already looked up
and parsed; the view's own cost is choosing the primary deployment, mapping the
state and serialising the v1 document. Measured in-process on endpoints with 1, 3
and 10 deployments (10 is the most the v2 endpoint embeds), next to parsing the v2
body for scale. Rounds alternate the sizes so machine noise hits all of them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from benchmarks.stats import summary
from devstack.together_v2_docs import make_v2_deployment, make_v2_endpoint
from endpoint_relay.core.v1_view import to_v1_document
from endpoint_relay.core.v2_models import Endpoint, load_json

SIZES = (1, 3, 10)
ROUNDS = 10
TARGET_US = 50.0


def _body(deployments: int) -> str:
    endpoint_id = f"ep_benchV1View{deployments:02d}xxxxxxxx"
    states = ("DEPLOYMENT_STATE_READY", "DEPLOYMENT_STATE_STOPPED", "DEPLOYMENT_STATE_PROVISIONING")
    made = [
        make_v2_deployment(
            f"dep_bench{deployments:02d}d{index:02d}xxxxxxx",
            endpoint_id=endpoint_id,
            state=states[index % len(states)],
            created_at=f"2026-11-{index + 1:02d}T10:00:00Z",
        )
        for index in range(deployments)
    ]
    return json.dumps(make_v2_endpoint(endpoint_id, deployments=made))


def _time_per_call(action: Any, iterations: int) -> list[float]:
    samples: list[float] = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        action()
        samples.append(time.perf_counter_ns() - started)
    return samples


def measure(iterations: int = 2000) -> dict[str, Any]:
    bodies = {size: _body(size) for size in SIZES}
    parsed = {size: Endpoint.from_dict(load_json(body)) for size, body in bodies.items()}
    translate: dict[int, list[float]] = {size: [] for size in SIZES}
    parse: dict[int, list[float]] = {size: [] for size in SIZES}
    per_round = max(1, iterations // ROUNDS)
    for round_index in range(ROUNDS):
        shift = round_index % len(SIZES)
        for size in SIZES[shift:] + SIZES[:shift]:
            endpoint, body = parsed[size], bodies[size]
            translate[size] += _time_per_call(lambda e=endpoint: json.dumps(to_v1_document(e)), per_round)
            parse[size] += _time_per_call(lambda b=body: Endpoint.from_dict(load_json(b)), per_round)
    return {
        "unit": "µs",
        "target_us": TARGET_US,
        "translate_and_serialise": {str(size): summary(translate[size], scale=1e3, digits=2) for size in SIZES},
        "parse_v2_body_for_scale": {str(size): summary(parse[size], scale=1e3, digits=2) for size in SIZES},
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
