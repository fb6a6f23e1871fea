"""Benchmark 4: a sweep of 1,000 endpoints with 50 ms of upstream latency.

The relay's sweep (SweepFunction's ``SweepRunner.run(targets)``, its deadline armed as the entry
point arms it) runs in a warm container of its own (``python -m benchmarks.sweep``), against the
simulator with 50 ms added to every answer. Its wall time is compared with

- the ideal: n x latency / workers (``SWEEP_MAX_WORKERS``), what perfect concurrency gives;
- a sequential loop of ``Together(...).endpoints.retrieve(id)`` over the same ids, which
  is what a script built on the SDK does without extra work.

The first target rows run the relay with its default worker count and no DynamoDB tables
(the sweep's own concurrency). An informational row follows with 16 workers (the speed-up
over a sequential loop cannot exceed the worker count). The as-deployed configuration
(alert state and shared tier on moto) has a target of its own against the same ideal: it
is measured in steady state (``--steady``: the sweep after a first one, which is what the
schedule runs all day), and the first sweep, which writes every endpoint's initial alert
state, is reported beside it. moto is one Python process, so those rows also measure moto.
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
            result["as_deployed"] = _as_deployed(stack, args, alert_table, result["ideal_s"])
    finally:
        stack.set_latency(0.0)
        targets.unlink(missing_ok=True)
    return result


def _as_deployed(stack: Stack, args: list[str], alert_table: str, ideal: float) -> dict[str, Any]:
    env = stack.relay_env(ALERT_TABLE_NAME=alert_table)
    deployed = run_child("sweep", [*args, "--steady"], env, timeout=600)
    first = deployed["first_sweep"]
    return {
        "measured": True,
        "config": "ALERT_TABLE_NAME and CACHE_TABLE_NAME on moto server; steady state (the sweep after a first one)",
        "relay_wall_s": deployed["relay_wall_s"],
        "ratio_to_ideal": round(deployed["relay_wall_s"] / ideal, 3),
        "dynamodb_calls": deployed["dynamodb_calls"],
        "first_sweep": {
            "relay_wall_s": first["relay_wall_s"],
            "ratio_to_ideal": round(first["relay_wall_s"] / ideal, 3),
            "dynamodb_calls": first["dynamodb_calls"],
        },
    }


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
    parser.add_argument("--steady", action="store_true", help="time the sweep after a first one (reported too)")
    args = parser.parse_args()

    import os
    from collections import Counter

    from endpoint_relay.adapters import aws_clients
    from endpoint_relay.settings import Settings
    from endpoint_relay.wiring.sweep import build_sweep

    ids: list[str] = json.loads(open(args.targets, encoding="utf-8").read())
    graph = build_sweep(Settings.from_env())
    workers = graph.shared.settings.sweep_max_workers
    # As SweepFunction's entry point does, with Lambda's 15-minute maximum: this sweep never runs short.
    graph.shared.deadline.arm(900_000)
    graph.sweeps.run(ids[:workers])  # warm: secret, connections, thread start-up
    dynamodb_calls: Counter[str] = Counter()
    # Counted as the integration tests count them: every DynamoDB call the relay makes, by operation.
    aws_clients.client("dynamodb").meta.events.register(
        "before-call", lambda model, **_: dynamodb_calls.update([model.name])
    )

    def timed_sweep() -> dict[str, Any]:
        dynamodb_calls.clear()
        started = time.perf_counter()
        report = graph.sweeps.run(ids)
        wall = time.perf_counter() - started
        if report.skipped or report.failures or len(report.checks) != len(ids):
            failed = [check.error for check in report.failures][:3]
            raise SystemExit(f"sweep incomplete: {len(report.checks)} checked, {len(report.skipped)} skipped, {failed}")
        return {"relay_wall_s": round(wall, 3), "dynamodb_calls": dict(sorted(dynamodb_calls.items()))}

    first = timed_sweep()
    timed = timed_sweep() if args.steady else first
    ideal = len(ids) * LATENCY_SECONDS / workers
    result: dict[str, Any] = {
        "measured": True,
        "endpoints": len(ids),
        "upstream_latency_ms": LATENCY_SECONDS * 1000,
        "workers": workers,
        "config": "upstream only: no ALERT_TABLE_NAME, no CACHE_TABLE_NAME",
        "relay_wall_s": timed["relay_wall_s"],
        "ideal_s": round(ideal, 3),
        "dynamodb_calls": timed["dynamodb_calls"],
    }
    if args.steady:
        result["first_sweep"] = first
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
