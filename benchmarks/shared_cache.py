"""Benchmark 5: four warm containers share the DynamoDB tier; count the upstream calls they make.

Four processes (``python -m benchmarks.shared_cache``), each a warm relay container
with ``CACHE_TTL_SECONDS=5`` and the shared table on moto, look up the same 10 ids
round-robin, as fast as they can, for 20 s from a common start time. The simulator
counts the upstream calls; the ideal is one per id per TTL window. Each loop is
bounded by a deadline and a request count.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.stack import EVENT_FILE, REPO, WORK, Stack, write_result

PROCESSES = 4
TTL_SECONDS = 5
MAX_REQUESTS_PER_PROCESS = 2_000_000
START_DELAY_SECONDS = 8.0  # time for all four to import the handler before the common start


def measure(stack: Stack, ids: list[str], duration: float) -> dict[str, Any]:
    table = stack.new_table()  # empty: the first lookups miss everywhere, as after a deploy
    env = stack.relay_env(CACHE_TTL_SECONDS=str(TTL_SECONDS), CACHE_TABLE_NAME=table)
    calls_before = stack.upstream_calls(ids)
    start_at = time.time() + START_DELAY_SECONDS
    WORK.mkdir(parents=True, exist_ok=True)
    outs = [WORK / f"shared-cache-{index}.json" for index in range(PROCESSES)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.shared_cache",
                "--out",
                str(out),
                "--ids",
                ",".join(ids),
                "--offset",
                str(index * len(ids) // PROCESSES),
                "--start-at",
                repr(start_at),
                "--duration",
                str(duration),
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for index, out in enumerate(outs)
    ]
    failures = []
    for child in children:
        _, stderr = child.communicate(timeout=START_DELAY_SECONDS + duration + 120)
        if child.returncode != 0:
            failures.append(stderr.decode("utf-8", "replace")[-2000:])
    if failures:
        raise RuntimeError("a shared-cache worker failed:\n" + failures[0])
    workers = [json.loads(out.read_text(encoding="utf-8")) for out in outs]
    for out in outs:
        out.unlink()
    upstream = stack.upstream_calls(ids) - calls_before
    windows = math.ceil(duration / TTL_SECONDS)
    ideal = len(ids) * windows
    statuses: Counter[str] = Counter()
    for worker in workers:
        statuses.update(worker["statuses"])
    return {
        **_refresh_bursts(workers),
        "processes": PROCESSES,
        "ids": len(ids),
        "ttl_seconds": TTL_SECONDS,
        "duration_seconds": duration,
        "requests": sum(worker["requests"] for worker in workers),
        "responses": dict(statuses),
        "upstream_calls": upstream,
        "ideal_upstream_calls": ideal,
        "ideal_rule": f"{len(ids)} ids x ceil({duration:g} s / {TTL_SECONDS} s TTL) windows",
        "without_shared_tier_expected": PROCESSES * ideal,
        "tier": "moto DynamoDB (CACHE_TABLE_NAME) behind each process's local tier",
    }


def _refresh_bursts(workers: list[dict[str, Any]]) -> dict[str, Any]:
    """How the upstream calls cluster: fetches of one id less than a second apart are one refresh burst.

    With a perfect shared tier every burst has one fetch; more means several
    processes found the same entry expired before any of them had written it back.
    """
    by_id: dict[str, list[tuple[float, int]]] = {}
    for index, worker in enumerate(workers):
        for at, endpoint_id in worker["fetches"]:
            by_id.setdefault(endpoint_id, []).append((at, index))
    sizes: Counter[int] = Counter()
    spreads_ms: list[float] = []
    for fetches in by_id.values():
        fetches.sort()
        burst = [fetches[0]]
        for fetch in fetches[1:]:
            if fetch[0] - burst[0][0] < 1.0:
                burst.append(fetch)
                continue
            sizes[len(burst)] += 1
            spreads_ms.append((burst[-1][0] - burst[0][0]) * 1000)
            burst = [fetch]
        sizes[len(burst)] += 1
        spreads_ms.append((burst[-1][0] - burst[0][0]) * 1000)
    spreads_ms.sort()
    return {
        "refresh_bursts": sum(sizes.values()),
        "fetches_per_burst": {str(size): count for size, count in sorted(sizes.items())},
        "burst_spread_ms_p50": round(spreads_ms[len(spreads_ms) // 2], 1) if spreads_ms else None,
        "burst_spread_ms_max": round(spreads_ms[-1], 1) if spreads_ms else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--duration", type=float, default=20.0)
    args = parser.parse_args()

    from devstack.events import FakeLambdaContext
    from endpoint_relay.entrypoints.api import lambda_handler

    ids = args.ids.split(",")
    raw = EVENT_FILE.read_text(encoding="utf-8")
    sample = json.loads(raw)["pathParameters"]["endpointId"]
    raw_events = [raw.replace(sample, endpoint_id) for endpoint_id in ids]
    context = FakeLambdaContext(remaining_ms=10**9)
    statuses: Counter[str] = Counter()
    fetches: list[tuple[float, str]] = []  # (wall clock, id) of every lookup that went upstream

    time.sleep(max(0.0, args.start_at - time.time()))
    deadline = time.monotonic() + args.duration
    requests = 0
    while requests < MAX_REQUESTS_PER_PROCESS and time.monotonic() < deadline:
        event = json.loads(raw_events[(args.offset + requests) % len(ids)])
        response = lambda_handler(event, context)
        cache_status = response["headers"].get("X-Cache", "-")
        statuses[f"{response['statusCode']} {cache_status}"] += 1
        if cache_status in ("MISS", "REFRESH"):
            fetches.append((time.time(), event["pathParameters"]["endpointId"]))
        requests += 1
    write_result(args.out, {"requests": requests, "statuses": dict(statuses), "fetches": fetches})


if __name__ == "__main__":
    main()
