"""Benchmark: a v2 lookup that goes upstream every time, against raw urllib3 and the Together SDK 3.x.

``GET /v2/projects/{p}/endpoints/{ep_…}`` through ApiFunction's handler, configured
as the v1 uncached benchmark configures it (``CACHE_TTL_SECONDS=0``, no shared
table, secret cached), so each invocation is one upstream GET plus the relay's
own work: routing, the project allow-list, id checks, the caller token, error
normalisation, metrics. The raw urllib3 GET of the same simulator path reuses one
keep-alive connection. The SDK 3.x (``client.endpoints.retrieve``) runs in
``.venv-sdk3`` as a peer process (benchmarks/sdk3_peer.py) with a warm client;
this process asks it for blocks of calls in turn with its own, so all three
alternate in blocks and machine noise hits each of them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from benchmarks.stack import (
    RELAY_TOKEN,
    REPO,
    SDK3_PYTHON,
    TOGETHER_API_KEY,
    V2_PROJECT_ID,
    Stack,
    run_child,
    write_result,
)
from benchmarks.stats import summary

ROUNDS = 10
PEER = REPO / "benchmarks" / "sdk3_peer.py"
V2_ROUTE_KEY = "GET /v2/{v2Path+}"
"""template.yaml's route for every v2 read."""


def measure(stack: Stack, endpoint_id: str, iterations: int) -> dict[str, Any]:
    env = stack.relay_env(CACHE_TTL_SECONDS="0", CACHE_TABLE_NAME=None, TOGETHER_PROJECT_ID=V2_PROJECT_ID)
    args = ["--iterations", str(iterations), "--endpoint-id", endpoint_id]
    return run_child("v2_uncached", args, env, timeout=300)


def v2_lookup_event(project_id: str, endpoint_id: str) -> dict[str, Any]:
    """The HTTP API event API Gateway sends for the SDK's retrieve, with the relay token."""
    from devstack.events import http_event

    path = f"/v2/projects/{project_id}/endpoints/{endpoint_id}"
    event = http_event(
        "GET",
        path,
        headers={"Authorization": f"Bearer {RELAY_TOKEN}", "User-Agent": "bench"},
        route_key=V2_ROUTE_KEY,
    )
    event["pathParameters"] = {"v2Path": path.removeprefix("/v2/")}
    return event


def peer_environment(together_root: str, endpoint_id: str) -> dict[str, str]:
    """The SDK 3.x peer's whole environment: the simulator, a fake key, nothing inherited beyond PATH/HOME."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - only where the SDK may look for config
        "LANG": "C.UTF-8",
        "TOGETHER_BASE_URL": together_root,
        "TOGETHER_API_KEY": TOGETHER_API_KEY,
        "TOGETHER_PROJECT_ID": V2_PROJECT_ID,
        "BENCH_V2_ENDPOINT_ID": endpoint_id,
    }


class Sdk3Peer:
    """The warm SDK 3.x client in its own process; :meth:`timed` runs a block of retrieves there."""

    def __init__(self, together_root: str, endpoint_id: str) -> None:
        self._process = subprocess.Popen(
            [str(SDK3_PYTHON), str(PEER), "serve"],
            cwd=REPO,
            env=peer_environment(together_root, endpoint_id),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def timed(self, count: int) -> list[int]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(f"{count}\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            self._process.kill()
            _, errors = self._process.communicate(timeout=10)
            raise RuntimeError(f"the SDK 3.x peer stopped (exit {self._process.returncode}):\n{errors[-3000:]}")
        samples: list[int] = json.loads(line)
        return samples

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()  # EOF: the peer's cue to exit
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


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
    parser.add_argument("--endpoint-id", required=True)
    args = parser.parse_args()

    import urllib3

    from devstack.events import FakeLambdaContext
    from endpoint_relay.entrypoints.api import lambda_handler

    endpoint_id = args.endpoint_id
    project_id = os.environ["TOGETHER_PROJECT_ID"]
    together_root = os.environ["TOGETHER_API_BASE_URL"].removesuffix("/v1")
    raw_event = json.dumps(v2_lookup_event(project_id, endpoint_id))
    context = FakeLambdaContext()
    events = iter([json.loads(raw_event) for _ in range(args.iterations + 100)])
    statuses: set[str] = set()

    def relay() -> None:
        response = lambda_handler(next(events), context)
        statuses.add(f"{response['statusCode']} {response['headers'].get('X-Cache')}")

    pool = urllib3.PoolManager()
    url = f"{together_root}/v2/projects/{project_id}/endpoints/{endpoint_id}"
    headers = {"Authorization": f"Bearer {TOGETHER_API_KEY}"}

    def raw_urllib3() -> None:
        response = pool.request("GET", url, headers=headers)
        if response.status != 200:
            raise RuntimeError(f"raw GET answered {response.status}")

    local = {"relay": relay, "raw_urllib3": raw_urllib3}
    for call in local.values():  # warm-up: connections, secret, imports on first use
        _timed(call, 50)
    samples: dict[str, list[int]] = {name: [] for name in (*local, "together_sdk3")}
    peer: Sdk3Peer | None = Sdk3Peer(together_root, endpoint_id) if SDK3_PYTHON.exists() else None
    try:
        if peer is not None:
            peer.timed(50)  # warm-up: its connection and the SDK's lazy imports
        block = max(1, args.iterations // ROUNDS)
        for _ in range(ROUNDS):
            for name, call in local.items():
                samples[name].extend(_timed(call, block))
            if peer is not None:
                samples["together_sdk3"].extend(peer.timed(block))
    finally:
        if peer is not None:
            peer.close()
    if statuses != {"200 MISS"}:
        raise SystemExit(f"the relay did not go upstream every time: {sorted(statuses)}")
    result: dict[str, Any] = {
        "unit": "µs",
        "route": f"GET /v2/projects/{project_id}/endpoints/{{id}}",
        "relay_config": "CACHE_TTL_SECONDS=0, no shared table (CACHE_TABLE_NAME unset), secret cached",
        **{name: summary(values, scale=1e3, digits=1) for name, values in samples.items() if values},
    }
    if peer is None:
        result["together_sdk3_reason"] = f"{SDK3_PYTHON.relative_to(REPO)} missing (make test builds it)"
    write_result(args.out, result)


if __name__ == "__main__":
    main()
