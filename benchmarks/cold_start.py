"""Benchmark 1: cold start, the relay against the floor and the peer, in fresh processes.

Each run spawns ``cold_start_probe.py`` for one variant and one endpoint id it has not
looked up before (so the relay's shared tier misses, as on a first lookup). Variants
alternate, with the order rotated every round, so a burst of machine noise hits all
variants. One discarded round first compiles bytecode and warms the page cache.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.stack import (
    EVENT_FILE,
    REPO,
    SDK3_PYTHON,
    TOGETHER_API_KEY,
    V2_PROJECT_ID,
    Stack,
    child_environment,
)
from benchmarks.stats import summary

PROBE = REPO / "benchmarks" / "cold_start_probe.py"
SDK3_PEER = REPO / "benchmarks" / "sdk3_peer.py"
VARIANTS = (
    "floor",
    "relay",
    "relay_sweep",
    "relay_worker",
    "peer",
    "dependencies",
    "relay_package",
    "relay_v2",
    "sdk3_peer",
)
"""``dependencies`` is informational: the relay's required libraries doing its I/O, without its code.
``relay_package`` is the relay run from its built package, unpacked read-only as Lambda runs it
(benchmarks/package.py), next to ``relay`` from source; measured only when a build exists.
``relay_v2`` is ApiFunction answering ``GET /v2/projects/{p}/endpoints/ep_…`` (an id nobody has looked up), and
``sdk3_peer`` the Together SDK 3.x in its own venv: import, client construction and the first
``client.endpoints.retrieve`` of the same kind of v2 endpoint (benchmarks/sdk3_peer.py); measured when v2 ids are
given, the peer only when .venv-sdk3 exists."""
V2_VARIANTS = frozenset({"relay_v2", "sdk3_peer"})
"""These take their fresh ids from the v2 endpoints."""

# The package variant sees only its directory and the standard library: no site-packages (-S), no src/.
VARIANT_FLAGS = {"relay_package": ["-S"]}
# Variants run by another interpreter and script than this venv's python and cold_start_probe.py.
VARIANT_COMMANDS = {"sdk3_peer": [str(SDK3_PYTHON), str(SDK3_PEER), "cold"]}


def environments(stack: Stack, package_root: Path | None = None, v2: bool = False) -> dict[str, dict[str, str]]:
    envs = {
        "floor": child_environment(TOGETHER_API_BASE_URL=stack.together_base_url, TOGETHER_API_KEY=TOGETHER_API_KEY),
        "relay": stack.relay_env(BENCH_EVENT_FILE=str(EVENT_FILE)),
        # One function per trigger: each pays its own cold start.
        "relay_sweep": stack.relay_env(),
        "relay_worker": stack.relay_env(),
        "dependencies": stack.relay_env(),
        "peer": child_environment(
            BENCH_EVENT_FILE=str(EVENT_FILE),
            AWS_ENDPOINT_URL=stack.moto_url,
            POWERTOOLS_SERVICE_NAME="together-peer",
            POWERTOOLS_METRICS_NAMESPACE="TogetherPeer",
            POWERTOOLS_LOG_LEVEL="INFO",
            TOGETHER_SECRET_ID=stack.secret_id,
            TOGETHER_BASE_URL=stack.together_base_url,
        ),
    }
    if package_root is not None:
        envs["relay_package"] = stack.relay_env(
            BENCH_EVENT_FILE=str(EVENT_FILE),
            PYTHONPATH=str(package_root),
            LAMBDA_TASK_ROOT=str(package_root),
            PYTHONDONTWRITEBYTECODE="1",
        )
    if v2:
        envs["relay_v2"] = stack.relay_env(BENCH_EVENT_FILE=str(EVENT_FILE), TOGETHER_PROJECT_ID=V2_PROJECT_ID)
    if v2 and SDK3_PYTHON.exists():
        envs["sdk3_peer"] = child_environment(
            TOGETHER_BASE_URL=stack.together_base_url.removesuffix("/v1"),
            TOGETHER_API_KEY=TOGETHER_API_KEY,
            TOGETHER_PROJECT_ID=V2_PROJECT_ID,
        )
        envs["sdk3_peer"].pop("PYTHONPATH")  # its own venv's python, with nothing of the relay's on its path
    return envs


def probe(
    variant: str,
    endpoint_id: str,
    env: dict[str, str],
    *,
    importtime: bool = False,
    under: tuple[str, ...] = (),
    timeout: float = 120,
) -> dict[str, Any]:
    """One fresh process's cold start; ``under`` runs it inside another tool (callgrind), whose stderr is kept."""
    env = dict(env, BENCH_SPAWN_NS=str(time.monotonic_ns()))
    flags = [*VARIANT_FLAGS.get(variant, []), *(["-X", "importtime"] if importtime else [])]
    python, *script = VARIANT_COMMANDS.get(variant, [sys.executable, str(PROBE), variant])
    completed = subprocess.run(
        [*under, python, *flags, *script, endpoint_id],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    for line in completed.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("BENCH-RESULT "):
            fields = dict(pair.split("=", 1) for pair in line.split()[1:])
            result: dict[str, Any] = {name: int(value) for name, value in fields.items()}
            if result["status"] != 200:
                raise RuntimeError(f"cold-start probe '{variant}' answered {result['status']}")
            result["stderr"] = completed.stderr.decode("utf-8", "replace") if importtime or under else ""
            return result
    tail = completed.stderr.decode("utf-8", "replace")[-3000:]
    raise RuntimeError(f"cold-start probe '{variant}' failed (exit {completed.returncode}):\n{tail}")


def measure(
    stack: Stack,
    ids: list[str],
    runs: int,
    *,
    variants: tuple[str, ...] = VARIANTS,
    package_root: Path | None = None,
    v2_ids: list[str] | None = None,
) -> dict[str, Any]:
    """``ids`` and ``v2_ids`` must each hold a fresh id per probe: (runs + 1) per variant of their kind."""
    envs = environments(stack, package_root, v2=v2_ids is not None)
    variants = tuple(variant for variant in variants if variant in envs)
    fresh_v1, fresh_v2 = iter(ids), iter(v2_ids or [])

    def fresh(variant: str) -> str:
        return next(fresh_v2 if variant in V2_VARIANTS else fresh_v1)

    for variant in variants:  # discarded: bytecode compilation and a cold page cache are not what we measure
        probe(variant, fresh(variant), envs[variant])
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for round_index in range(runs):
        shift = round_index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            samples[variant].append(probe(variant, fresh(variant), envs[variant]))
    result: dict[str, Any] = {"runs_per_variant": runs, "unit": "ms"}
    for variant in variants:
        runs_of = samples[variant]
        result[variant] = {
            "spawn_to_first_answer_ms": summary([r["spawn_to_answer_ns"] for r in runs_of], scale=1e6, digits=1),
            "interpreter_start_ms": summary([r["interpreter_ns"] for r in runs_of], scale=1e6, digits=1),
            "import_and_init_ms": summary([r["import_ns"] for r in runs_of], scale=1e6, digits=1),
            "first_call_ms": summary([r["first_call_ns"] for r in runs_of], scale=1e6, digits=1),
            "peak_rss_mb": summary([r["peak_rss_kb"] for r in runs_of], scale=1024, digits=1),
        }
    return result


INSTRUCTION_VARIANTS = ("relay", "relay_sweep", "relay_worker", "dependencies")
"""Counted once each under callgrind: a count that machine noise does not move, beside the noisy milliseconds."""


def instructions(stack: Stack, ids: list[str]) -> dict[str, Any]:
    """Instructions from process start to the first answer, per variant: one fresh id per variant in ``ids``.

    ``valgrind --tool=callgrind`` counts instructions, not time, so the same code on the same inputs gives
    the same count whatever else the machine is doing (within a fraction of a percent: the endpoint ids and
    the servers' answers differ by a few bytes). A cold start's time mostly follows its instructions; cache
    misses and page faults are what the count leaves out.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return {"measured": False, "reason": "valgrind not found (apt-get install valgrind)"}
    envs = environments(stack)
    counts: dict[str, Any] = {"measured": True, "unit": "million instructions"}
    callgrind = (valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null")
    for variant, endpoint_id in zip(INSTRUCTION_VARIANTS, ids, strict=True):
        stderr = probe(variant, endpoint_id, envs[variant], under=callgrind, timeout=600)["stderr"]
        collected = re.search(r"Collected : (\d+)", stderr)
        if collected is None:
            raise RuntimeError(f"callgrind counted nothing for the cold-start probe '{variant}'")
        counts[variant] = round(int(collected.group(1)) / 1e6, 1)
    return counts


def import_profile(stack: Stack, ids: list[str]) -> dict[str, Any]:
    """``python -X importtime`` of one relay and one peer cold start: where the import time goes."""
    envs = environments(stack)
    profile: dict[str, Any] = {}
    for variant, endpoint_id in zip(("relay", "peer"), ids, strict=False):
        entries = parse_importtime(probe(variant, endpoint_id, envs[variant], importtime=True)["stderr"])
        by_package: dict[str, int] = defaultdict(int)
        for entry in entries:
            by_package[entry["module"].split(".")[0]] += entry["self_us"]
        top_packages = sorted(by_package.items(), key=lambda item: -item[1])[:12]
        top_modules = sorted(entries, key=lambda entry: -entry["cumulative_us"])[:20]
        profile[variant] = {
            "total_import_ms": round(sum(entry["self_us"] for entry in entries) / 1000, 1),
            "self_time_by_package_ms": {name: round(us / 1000, 1) for name, us in top_packages},
            "top_cumulative_ms": [
                {"module": entry["module"], "depth": entry["depth"], "ms": round(entry["cumulative_us"] / 1000, 1)}
                for entry in top_modules
            ],
        }
    return profile


_IMPORTTIME_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse_importtime(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        match = _IMPORTTIME_LINE.match(line)
        if match:
            self_us, cumulative_us, indent, module = match.groups()
            entries.append(
                {
                    "module": module,
                    "self_us": int(self_us),
                    "cumulative_us": int(cumulative_us),
                    "depth": (len(indent) - 1) // 2,
                }
            )
    return entries
