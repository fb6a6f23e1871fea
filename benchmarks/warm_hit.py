"""Benchmark 2: a warm cache hit through ``lambda_handler``, against a dict lookup plus ``json.dumps``.

Runs in its own process (``python -m benchmarks.warm_hit``) configured as template.yaml
configures the function. Every invocation gets a freshly parsed copy of
events/http_get_endpoint.json, as the Lambda runtime would hand it over; parsing is
not timed. Relay and floor alternate in blocks so machine noise hits both.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import time
from typing import Any

from benchmarks.stack import EVENT_FILE, Stack, run_child, write_result
from benchmarks.stats import summary

ROUNDS = 10


def measure(stack: Stack, iterations: int) -> dict[str, Any]:
    return run_child("warm_hit", ["--iterations", str(iterations)], stack.relay_env(), timeout=300)


def _relay_samples(handler: Any, raw_event: str, context: Any, count: int) -> tuple[list[int], int]:
    samples: list[int] = []
    not_hits = 0
    for _ in range(count):
        event = json.loads(raw_event)
        started = time.perf_counter_ns()
        response = handler(event, context)
        samples.append(time.perf_counter_ns() - started)
        if response["headers"].get("X-Cache") != "HIT":
            not_hits += 1
    return samples, not_hits


def _floor_samples(cache: dict[str, Any], endpoint_id: str, count: int) -> list[int]:
    samples: list[int] = []
    for _ in range(count):
        started = time.perf_counter_ns()
        json.dumps(cache[endpoint_id])
        samples.append(time.perf_counter_ns() - started)
    return samples


def profile_invocations(handler: Any, raw_event: str, context: Any, count: int) -> list[str]:
    """cProfile of ``count`` invocations: the top functions by own time and by cumulative time."""
    events = [json.loads(raw_event) for _ in range(count)]
    profiler = cProfile.Profile()
    profiler.enable()
    for event in events:
        handler(event, context)
    profiler.disable()
    lines: list[str] = []
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(18)
        body = text.getvalue().splitlines()
        start = next((i for i, line in enumerate(body) if line.lstrip().startswith("ncalls")), 0)
        lines.append(f"-- top by {order} ({count} invocations) --")
        lines.extend(line.rstrip() for line in body[start:] if line.strip())
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--iterations", type=int, default=5000)
    args = parser.parse_args()

    from devstack.events import FakeLambdaContext
    from endpoint_relay.entrypoints.api import lambda_handler

    raw_event = EVENT_FILE.read_text(encoding="utf-8")
    endpoint_id = json.loads(raw_event)["pathParameters"]["endpointId"]
    context = FakeLambdaContext()
    first = lambda_handler(json.loads(raw_event), context)
    if first["statusCode"] != 200 or first["headers"].get("X-Cache") != "MISS":
        raise SystemExit(f"first lookup did not miss and succeed: {first['statusCode']}")
    cache = {endpoint_id: json.loads(first["body"])}
    _relay_samples(lambda_handler, raw_event, context, 200)  # warm-up: caches, branch predictors, allocator
    _floor_samples(cache, endpoint_id, 200)

    block = max(1, args.iterations // ROUNDS)
    relay: list[int] = []
    floor: list[int] = []
    not_hits = 0
    gc.collect()
    for _ in range(ROUNDS):
        samples, missed = _relay_samples(lambda_handler, raw_event, context, block)
        relay.extend(samples)
        not_hits += missed
        floor.extend(_floor_samples(cache, endpoint_id, block))
    if not_hits:
        raise SystemExit(f"{not_hits} of the measured invocations were not cache hits")
    write_result(
        args.out,
        {
            "unit": "µs",
            "event": "events/http_get_endpoint.json",
            "relay": summary(relay, scale=1e3, digits=1),
            "floor_dict_plus_json_dumps": summary(floor, scale=1e3, digits=1),
            "profile": profile_invocations(lambda_handler, raw_event, context, 2000),
        },
    )


if __name__ == "__main__":
    main()
