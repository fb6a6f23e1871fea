"""Benchmark 4: a sweep of 1,000 endpoints with 50 ms of upstream latency.

The relay's sweep (SweepFunction's ``SweepRunner.run(targets)``, its deadline armed as the entry
point arms it) runs in a warm container of its own (``python -m benchmarks.sweep``), against the
simulator with 50 ms added to every answer. Its wall time is compared with

- the ideal: n x latency / workers (``SWEEP_MAX_WORKERS``), what perfect concurrency gives;
- a sequential loop of ``Together(...).endpoints.retrieve(id)`` over the same ids, which
  is what a script built on the SDK does without extra work.

The target row runs the relay with its default worker count and no DynamoDB tables
(the sweep's own concurrency, which the target is about). Two informational rows
follow: 16 workers (the speed-up over a sequential loop cannot exceed the worker
count), and the as-deployed configuration (alert state and shared tier on moto;
moto is one Python process, so that row also measures moto).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from benchmarks.stack import SRC, TOGETHER_API_KEY, WORK, Stack, run_child, write_result

NOT_BUILT = "not measured: sweep not built yet"
LATENCY_SECONDS = 0.05


def measure(stack: Stack, ids: list[str]) -> dict[str, Any]:
    if not (SRC / "endpoint_relay" / "core" / "alerting.py").exists():
        return {"measured": False, "reason": NOT_BUILT}
    targets = WORK / "sweep-targets.json"
    targets.write_text(json.dumps(ids), encoding="utf-8")
    upstream_only = stack.relay_env(CACHE_TABLE_NAME=None)
    alert_table = _alert_table(stack)
    stack.set_latency(LATENCY_SECONDS)
    try:
        args = ["--targets", str(targets)]
        result = run_child("sweep", [*args, "--sdk-loop"], upstream_only, timeout=600)
        if result.get("measured"):
            # Informational: the speed-up over the SDK loop is capped by the worker count, so show a wider pool.
            wider = run_child("sweep", args, stack.relay_env(CACHE_TABLE_NAME=None, SWEEP_MAX_WORKERS="16"), 600)
            result["with_16_workers"] = {
                "relay_wall_s": wider["relay_wall_s"],
                "ideal_s": wider["ideal_s"],
                "ratio_to_ideal": round(wider["relay_wall_s"] / wider["ideal_s"], 3),
                "times_faster_than_sdk_loop": round(result["sequential_sdk_wall_s"] / wider["relay_wall_s"], 2),
            }
        if result.get("measured") and alert_table is None:
            result["as_deployed"] = {"measured": False, "reason": "devstack cannot create the alert table yet"}
        elif result.get("measured"):
            deployed = run_child("sweep", args, stack.relay_env(ALERT_TABLE_NAME=alert_table), timeout=600)
            result["as_deployed"] = {
                "measured": True,
                "config": "ALERT_TABLE_NAME and CACHE_TABLE_NAME on moto server",
                "relay_wall_s": deployed["relay_wall_s"],
                "ratio_to_ideal": round(deployed["relay_wall_s"] / result["ideal_s"], 3),
            }
    finally:
        stack.set_latency(0.0)
        targets.unlink(missing_ok=True)
    return result


def _alert_table(stack: Stack) -> str | None:
    """The alert state table as template.yaml defines it, if the devstack knows how to make one."""
    from devstack import aws

    create = getattr(aws, "create_alert_table", None)
    return None if create is None else str(create(stack.moto_url))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--targets", required=True)
    parser.add_argument("--sdk-loop", action="store_true")
    args = parser.parse_args()

    import os

    from endpoint_relay.settings import Settings
    from endpoint_relay.wiring.sweep import build_sweep

    ids: list[str] = json.loads(open(args.targets, encoding="utf-8").read())
    graph = build_sweep(Settings.from_env())
    workers = graph.shared.settings.sweep_max_workers
    # As SweepFunction's entry point does, with Lambda's 15-minute maximum: this sweep never runs short.
    graph.shared.deadline.arm(900_000)
    graph.sweeps.run(ids[:workers])  # warm: secret, connections, thread start-up

    started = time.perf_counter()
    report = graph.sweeps.run(ids)
    wall = time.perf_counter() - started
    if report.skipped or report.failures or len(report.checks) != len(ids):
        failed = [check.error for check in report.failures][:3]
        raise SystemExit(f"sweep incomplete: {len(report.checks)} checked, {len(report.skipped)} skipped, {failed}")
    ideal = len(ids) * LATENCY_SECONDS / workers
    result: dict[str, Any] = {
        "measured": True,
        "endpoints": len(ids),
        "upstream_latency_ms": LATENCY_SECONDS * 1000,
        "workers": workers,
        "config": "upstream only: no ALERT_TABLE_NAME, no CACHE_TABLE_NAME",
        "relay_wall_s": round(wall, 3),
        "ideal_s": round(ideal, 3),
    }
    if args.sdk_loop:
        from together import Together

        sdk = Together(api_key=TOGETHER_API_KEY, base_url=os.environ["TOGETHER_API_BASE_URL"])
        sdk.endpoints.retrieve(ids[0])  # warm: connection
        started = time.perf_counter()
        for endpoint_id in ids:
            sdk.endpoints.retrieve(endpoint_id)
        result["sequential_sdk_wall_s"] = round(time.perf_counter() - started, 3)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
