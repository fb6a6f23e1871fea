"""Benchmark 3: a warm lookup that goes upstream every time, against raw urllib3 and the Together SDK.

The relay runs with ``CACHE_TTL_SECONDS=0`` and no shared table, so each invocation
is one upstream GET plus the relay's own work (routing, caller token, parsing,
metrics); the secret stays cached, as it does in a warm container. The raw urllib3
GET reuses one keep-alive connection; the SDK is ``Together(...).endpoints.retrieve``
pointed at the same simulator. The three alternate in blocks.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.stack import EVENT_FILE, TOGETHER_API_KEY, Stack, run_child, write_result
from benchmarks.stats import summary
from benchmarks.warm_hit import profile_invocations

ROUNDS = 10


def measure(stack: Stack, iterations: int) -> dict[str, Any]:
    env = stack.relay_env(CACHE_TTL_SECONDS="0", CACHE_TABLE_NAME=None)
    return run_child("warm_uncached", ["--iterations", str(iterations)], env, timeout=300)


def _timed(call: Callable[[], None], count: int) -> list[int]:
    samples: list[int] = []
    for _ in range(count):
        started = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()

    import os

    import urllib3
    from together import Together

    from devstack.events import FakeLambdaContext
    from endpoint_relay.entrypoints.api import lambda_handler

    raw_event = EVENT_FILE.read_text(encoding="utf-8")
    endpoint_id = json.loads(raw_event)["pathParameters"]["endpointId"]
    base_url = os.environ["TOGETHER_API_BASE_URL"]
    context = FakeLambdaContext()
    events = iter([json.loads(raw_event) for _ in range(2 * (args.iterations + 100))])  # two relay variants
    statuses: set[str] = set()

    def relay() -> None:
        response = lambda_handler(next(events), context)
        statuses.add(f"{response['statusCode']} {response['headers'].get('X-Cache')}")

    pool = urllib3.PoolManager()
    url = f"{base_url}/endpoints/{endpoint_id}"
    headers = {"Authorization": f"Bearer {TOGETHER_API_KEY}"}

    def raw_urllib3() -> None:
        response = pool.request("GET", url, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"raw GET answered {response.status}")

    sdk = Together(api_key=TOGETHER_API_KEY, base_url=base_url)

    def together_sdk() -> None:
        sdk.endpoints.retrieve(endpoint_id)

    # Informational: the same invocation with Together's answer served from memory, i.e. the relay's
    # own per-invocation cost (routing, caller token, logging, metrics, parsing) without the network.
    from endpoint_relay.core.models import Endpoint
    from endpoint_relay.entrypoints import api

    together = api.graph().shared.together
    body, _ = together.get_endpoint(endpoint_id, TOGETHER_API_KEY)

    def relay_without_network() -> None:
        together.get_endpoint = lambda _id, _key: (body, Endpoint.from_json(body))  # type: ignore[method-assign,assignment]
        try:
            relay()
        finally:
            del together.get_endpoint

    variants = {
        "relay": relay,
        "raw_urllib3": raw_urllib3,
        "together_sdk": together_sdk,
        "relay_upstream_in_memory": relay_without_network,
    }
    for call in variants.values():  # warm-up: connections, secret, imports on first use
        _timed(call, 50)
    samples: dict[str, list[int]] = {name: [] for name in variants}
    block = max(1, args.iterations // ROUNDS)
    for _ in range(ROUNDS):
        for name, call in variants.items():
            samples[name].extend(_timed(call, block))
    if statuses != {"200 MISS"}:
        raise SystemExit(f"the relay did not go upstream every time: {sorted(statuses)}")
    write_result(
        args.out,
        {
            "unit": "µs",
            "relay_config": "CACHE_TTL_SECONDS=0, no shared table (CACHE_TABLE_NAME unset), secret cached",
            **{name: summary(values, scale=1e3, digits=1) for name, values in samples.items()},
            "profile": profile_invocations(lambda_handler, raw_event, context, 1000),
        },
    )


if __name__ == "__main__":
    main()
