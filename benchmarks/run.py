"""`make bench`: run every benchmark in one go, print the table, write benchmarks/results.json.

Everything is measured in the same run on the same machine, against local stand-ins
on loopback (moto server and the Together simulator, started here and stopped at the
end). A missed target is reported, never turned into a failure: the exit status is
non-zero only when a benchmark could not run at all.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks import (
    cold_start,
    fleet,
    package,
    shared_cache,
    sweep,
    sweep_v2,
    v1_view,
    v2_uncached,
    warm_hit,
    warm_uncached,
)
from benchmarks.stack import REPO, V2_PROJECT_ID, Stack, endpoint_ids, event_endpoint_id, v2_endpoint_ids

RESULTS = REPO / "benchmarks" / "results.json"
ALL = (
    "package",
    "cold_start",
    "warm_hit",
    "warm_uncached",
    "v2_uncached",
    "v1_view",
    "sweep",
    "sweep_v2",
    "fleet",
    "shared_cache",
)
SDK3_COLD_TARGET = 1.0
"""ApiFunction's whole v2 cold start (boto3, Powertools, secret, shared table) against a bare SDK 3.x script's."""
AS_DEPLOYED_TARGET = 1.5
"""What the sweep as deployed (alert table and shared tier) may cost against the ideal, in steady state."""
PACKAGE_ZIP_BUDGET_MB = 6.0
"""The Makefile's PACKAGE_ZIP_BUDGET_MB: what one function's deflate zip may weigh."""


@dataclass(frozen=True)
class Target:
    benchmark: str
    name: str
    measured: str
    reference: str
    ratio: float | None
    target: str
    met: bool | None
    """None: not measured."""
    note: str = ""

    @property
    def verdict(self) -> str:
        return "not measured" if self.met is None else ("met" if self.met else "MISSED")


def _check(
    benchmark: str,
    name: str,
    ratio: float,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    measured: str,
    reference: str,
    target: str,
) -> Target:
    met = ratio <= at_most if at_most is not None else ratio >= (at_least or 0.0)
    return Target(benchmark, name, measured, reference, round(ratio, 3), target, met)


def evaluate(results: dict[str, Any]) -> list[Target]:
    targets: list[Target] = []
    cold = results.get("cold_start")
    if cold:
        relay = cold["relay"]["spawn_to_first_answer_ms"]["p50"]
        floor = cold["floor"]["spawn_to_first_answer_ms"]["p50"]
        peer = cold["peer"]["spawn_to_first_answer_ms"]["p50"]
        rss = cold["relay"]["peak_rss_mb"]["max"]
        dependencies = cold["dependencies"]["spawn_to_first_answer_ms"]["p50"]
        targets += [
            _check(
                "cold start",
                "ApiFunction vs dependencies",
                relay / dependencies,
                at_most=1.05,
                measured=f"{relay:.0f} ms",
                reference=f"dependencies {dependencies:.0f} ms",
                target="<= 1.05x boto3 + Powertools alone",
            ),
            _instructions_target(cold.get("instructions")),
            _check(
                "cold start",
                "vs floor",
                relay / floor,
                at_most=1.5,
                measured=f"{relay:.0f} ms",
                reference=f"floor {floor:.0f} ms",
                target="<= 1.5x floor",
            ),
            _check(
                "cold start",
                "vs peer",
                relay / peer,
                at_most=0.4,
                measured=f"{relay:.0f} ms",
                reference=f"peer {peer:.0f} ms",
                target="<= 0.4x peer",
            ),
            *_sdk3_cold_targets(cold),
            _check(
                "cold start",
                "peak RSS",
                rss / 90,
                at_most=1.0,
                measured=f"{rss:.1f} MB",
                reference=f"peer {cold['peer']['peak_rss_mb']['max']:.1f} MB",
                target="<= 90 MB",
            ),
        ]
    hit = results.get("warm_hit")
    if hit:
        p50 = hit["relay"]["p50"]
        targets.append(
            _check(
                "warm hit",
                "p50",
                p50 / 150,
                at_most=1.0,
                measured=f"p50 {p50:.0f} µs, p99 {hit['relay']['p99']:.0f} µs",
                reference=f"floor p50 {hit['floor_dict_plus_json_dumps']['p50']:.1f} µs",
                target="p50 <= 150 µs",
            )
        )
    uncached = results.get("warm_uncached")
    if uncached:
        relay_p50 = uncached["relay"]["p50"]
        raw = uncached["raw_urllib3"]["p50"]
        sdk = uncached["together_sdk"]["p50"]
        targets += [
            _check(
                "uncached",
                "vs raw urllib3",
                relay_p50 / raw,
                at_most=1.3,
                measured=f"p50 {relay_p50:.0f} µs",
                reference=f"urllib3 p50 {raw:.0f} µs",
                target="<= 1.3x urllib3",
            ),
            _check(
                "uncached",
                "vs Together SDK",
                sdk / relay_p50,
                at_least=3.0,
                measured=f"p50 {relay_p50:.0f} µs",
                reference=f"SDK p50 {sdk:.0f} µs",
                target=">= 3x faster than SDK",
            ),
        ]
    targets += _v2_uncached_targets(results.get("v2_uncached"))
    targets += _v1_view_targets(results.get("v1_view"))
    targets += _package_targets(results.get("package"))
    targets += _sweep_targets(results.get("sweep"))
    targets += _sweep_v2_targets(results.get("sweep_v2"))
    targets += _fleet_targets(results.get("fleet"))
    shared = results.get("shared_cache")
    if shared:
        calls, ideal = shared["upstream_calls"], shared["ideal_upstream_calls"]
        targets.append(
            _check(
                "shared cache",
                "upstream calls",
                calls / ideal,
                at_most=1.5,
                measured=f"{calls} calls",
                reference=f"ideal {ideal}",
                target="<= 1.5x ideal",
            )
        )
    return targets


def _instructions_target(counts: dict[str, Any] | None) -> Target:
    """The same comparison counted in instructions: what noise cannot move (cold_start.instructions)."""
    name, target = "ApiFunction vs dependencies, instructions", "<= 1.05x boto3 + Powertools alone"
    if not counts or not counts.get("measured"):
        reason = (counts or {}).get("reason", "not run")
        return Target("cold start", name, reason, "-", None, target, None, reason)
    relay, dependencies = counts["relay"], counts["dependencies"]
    return _check(
        "cold start",
        name,
        relay / dependencies,
        at_most=1.05,
        measured=f"{relay:,.0f} M",
        reference=f"dependencies {dependencies:,.0f} M",
        target=target,
    )


def _sdk3_cold_targets(cold: dict[str, Any]) -> list[Target]:
    target = f"<= {SDK3_COLD_TARGET:g}x SDK 3.x peer"
    if "sdk3_peer" not in cold or "relay_v2" not in cold:
        reason = ".venv-sdk3 missing" if "relay_v2" in cold else "no v2 endpoints given"
        return [Target("cold start", "v2 lookup vs SDK 3.x peer", reason, "-", None, target, None, reason)]
    relay = cold["relay_v2"]["spawn_to_first_answer_ms"]["p50"]
    peer = cold["sdk3_peer"]["spawn_to_first_answer_ms"]["p50"]
    return [
        _check(
            "cold start",
            "v2 lookup vs SDK 3.x peer",
            relay / peer,
            at_most=SDK3_COLD_TARGET,
            measured=f"{relay:.0f} ms (v2 lookup)",
            reference=f"SDK 3.x peer {peer:.0f} ms",
            target=target,
        )
    ]


def _v2_uncached_targets(result: dict[str, Any] | None) -> list[Target]:
    if not result:
        return []
    relay_p50, raw = result["relay"]["p50"], result["raw_urllib3"]["p50"]
    targets = [
        _check(
            "v2 uncached",
            "vs raw urllib3",
            relay_p50 / raw,
            at_most=1.3,
            measured=f"p50 {relay_p50:.0f} µs",
            reference=f"urllib3 p50 {raw:.0f} µs",
            target="<= 1.3x urllib3",
        )
    ]
    sdk = result.get("together_sdk3")
    if sdk is None:
        reason = result.get("together_sdk3_reason", "not measured")
        targets.append(Target("v2 uncached", "vs SDK 3.x retrieve", reason, "-", None, ">= 3x faster", None, reason))
    else:
        targets.append(
            _check(
                "v2 uncached",
                "vs SDK 3.x retrieve",
                sdk["p50"] / relay_p50,
                at_least=3.0,
                measured=f"p50 {relay_p50:.0f} µs",
                reference=f"SDK 3.x p50 {sdk['p50']:.0f} µs",
                target=">= 3x faster than SDK 3.x",
            )
        )
    return targets


def _v1_view_targets(result: dict[str, Any] | None) -> list[Target]:
    if not result:
        return []
    # The largest endpoint (10 embedded deployments) is the one held to the target.
    largest = result["translate_and_serialise"][str(max(v1_view.SIZES))]
    return [
        _check(
            "v1 view",
            "translation added",
            largest["p50"] / v1_view.TARGET_US,
            at_most=1.0,
            measured=f"p50 {largest['p50']:.1f} µs (10 deployments)",
            reference=f"1 deployment p50 {result['translate_and_serialise']['1']['p50']:.1f} µs",
            target=f"< {v1_view.TARGET_US:.0f} µs",
        )
    ]


def _package_targets(result: dict[str, Any] | None) -> list[Target]:
    if not result or not result.get("measured"):
        return []
    return [
        _check(
            "package",
            f"{function} zip",
            size["zipped_mb"] / PACKAGE_ZIP_BUDGET_MB,
            at_most=1.0,
            measured=f"{size['zipped_mb']:.2f} MB",
            reference=f"unzipped {size['unzipped_mb']:.2f} MB",
            target=f"<= {PACKAGE_ZIP_BUDGET_MB:.0f} MB zipped",
        )
        for function, size in result["functions"].items()
    ]


def _sweep_targets(result: dict[str, Any] | None) -> list[Target]:
    if result is None:
        return []
    if not result.get("measured"):
        reason = result.get("reason", "not measured")
        return [
            Target("sweep", "vs ideal", reason, "-", None, "<= 1.3x ideal", None, reason),
            Target("sweep", "vs sequential SDK", reason, "-", None, ">= 12x faster", None, reason),
        ]
    wall, ideal, sdk = result["relay_wall_s"], result["ideal_s"], result["sequential_sdk_wall_s"]
    return [
        _check(
            "sweep",
            "vs ideal",
            wall / ideal,
            at_most=1.3,
            measured=f"{wall:.2f} s",
            reference=f"ideal {ideal:.2f} s",
            target="<= 1.3x ideal",
        ),
        _check(
            "sweep",
            "vs sequential SDK",
            sdk / wall,
            at_least=12.0,
            measured=f"{wall:.2f} s",
            reference=f"SDK loop {sdk:.1f} s",
            target=">= 12x faster",
        ),
        *_as_deployed_targets(result.get("as_deployed"), ideal),
    ]


def _sweep_v2_targets(result: dict[str, Any] | None) -> list[Target]:
    if result is None:
        return []
    listing, gets, allowed = result["list_all"], result["per_endpoint_gets"], result["allowed_calls"]
    calls = listing["v2_calls"]
    return [
        Target(
            "sweep v2",
            f"all over {result['endpoints']} v2 endpoints: upstream calls",
            f"{calls} calls, {listing['wall_s']:.2f} s",
            f"per-endpoint GETs: {gets['v2_calls']} calls, {gets['wall_s']:.2f} s",
            round(calls / allowed, 3),
            f"<= ⌈{result['endpoints']}/{result['page_size']}⌉ + {result['firing']} firing = {allowed}",
            calls <= allowed,
        )
    ]


def _fleet_targets(result: dict[str, Any] | None) -> list[Target]:
    if result is None:
        return []
    calls = result["list_calls"] + result["catalogue_calls"]
    allowed = result["allowed_calls"]
    return [
        Target(
            "fleet view",
            f"GET /relay/fleet over {result['endpoints']} v2 endpoints: upstream calls",
            f"{result['list_calls']} list + {result['catalogue_calls']} catalogue, {result['first']['wall_s']:.2f} s",
            f"v1 (retired): {result['v1_calls']} call; cached read: {result['second']['upstream_calls']} calls",
            round(calls / allowed, 3),
            f"<= ⌈{result['endpoints']}/{result['page_size']}⌉ + 1 catalogue = {allowed}",
            calls <= allowed and not result["other_calls"],
        )
    ]


def _as_deployed_targets(deployed: dict[str, Any] | None, ideal: float) -> list[Target]:
    target = f"<= {AS_DEPLOYED_TARGET}x ideal"
    if not deployed:
        return []
    if not deployed.get("measured") or "first_sweep" not in deployed:
        reason = deployed.get("reason", "not measured in steady state")
        return [Target("sweep", "as deployed vs ideal", reason, "-", None, target, None, reason)]
    wall = deployed["relay_wall_s"]
    return [
        _check(
            "sweep",
            "as deployed vs ideal",
            wall / ideal,
            at_most=AS_DEPLOYED_TARGET,
            measured=f"{wall:.2f} s (steady state)",
            reference=f"ideal {ideal:.2f} s",
            target=target,
        )
    ]


def also_measured(results: dict[str, Any]) -> list[str]:
    """Context for the table: breakdowns and informational rows that carry no target."""
    lines: list[str] = []
    cold = results.get("cold_start")
    if cold:
        for variant in (variant for variant in cold_start.VARIANTS if variant in cold):
            row = cold[variant]
            lines.append(
                f"cold start {variant}: p50 {row['spawn_to_first_answer_ms']['p50']:.0f} ms "
                f"(p90 {row['spawn_to_first_answer_ms']['p90']:.0f}) = interpreter "
                f"{row['interpreter_start_ms']['p50']:.0f} + imports/init {row['import_and_init_ms']['p50']:.0f} "
                f"+ first call {row['first_call_ms']['p50']:.0f} ms; peak RSS {row['peak_rss_mb']['max']:.1f} MB"
            )
        counts = cold.get("instructions") or {}
        if counts.get("measured"):
            each = ", ".join(f"{variant} {counts[variant]:,.0f} M" for variant in cold_start.INSTRUCTION_VARIANTS)
            lines.append(f"cold start instructions (callgrind, process start to first answer): {each}")
    built = results.get("package") or {}
    if built.get("unpack_ms"):
        lines.append(
            f"package: unzipping {built['unpack_function']} takes p50 {built['unpack_ms']['p50']:.0f} ms here "
            f"(Lambda also downloads it); cold start relay_package runs from it, read-only (docs/package.md)"
        )
    elif built and not built.get("measured"):
        lines.append(f"package: not measured ({built.get('reason')})")
    uncached = results.get("warm_uncached")
    if uncached:
        overhead = uncached["relay"]["p50"] - uncached["raw_urllib3"]["p50"]
        lines.append(
            f"uncached: relay adds {overhead:.0f} µs to a raw urllib3 GET; with Together's answer served from memory "
            f"the relay takes {uncached['relay_upstream_in_memory']['p50']:.0f} µs (p99: relay "
            f"{uncached['relay']['p99']:.0f}, urllib3 {uncached['raw_urllib3']['p99']:.0f}, "
            f"SDK {uncached['together_sdk']['p99']:.0f} µs)"
        )
    v2 = results.get("v2_uncached")
    if v2:
        sdk = v2.get("together_sdk3")
        lines.append(
            f"v2 uncached: relay adds {v2['relay']['p50'] - v2['raw_urllib3']['p50']:.0f} µs to a raw urllib3 GET "
            f"of the same v2 path (p99: relay {v2['relay']['p99']:.0f}, urllib3 {v2['raw_urllib3']['p99']:.0f}"
            + (f", SDK 3.x {sdk['p99']:.0f} µs)" if sdk else " µs)")
        )
    sweep_result = results.get("sweep") or {}
    if sweep_result.get("measured"):
        wider = sweep_result.get("with_16_workers")
        if wider:
            lines.append(
                f"sweep with 16 workers: {wider['relay_wall_s']:.2f} s, {wider['ratio_to_ideal']:.2f}x its ideal, "
                f"{wider['times_faster_than_sdk_loop']:.1f}x faster than the SDK loop"
            )
        deployed = sweep_result.get("as_deployed") or {}
        if deployed.get("measured"):
            lines.append(
                f"sweep as deployed (alert table + shared tier on moto): steady state "
                f"{deployed['relay_wall_s']:.2f} s, {deployed['ratio_to_ideal']:.2f}x ideal, "
                f"DynamoDB calls {_calls(deployed.get('dynamodb_calls'))}"
            )
            first = deployed.get("first_sweep")
            if first:
                lines.append(
                    f"sweep as deployed, first sweep (writes every endpoint's initial alert state, one conditional "
                    f"write each): {first['relay_wall_s']:.2f} s, {first['ratio_to_ideal']:.2f}x ideal, "
                    f"DynamoDB calls {_calls(first.get('dynamodb_calls'))}"
                )
        elif deployed:
            lines.append(f"sweep as deployed: not measured ({deployed.get('reason')})")
    shared = results.get("shared_cache")
    if shared:
        lines.append(
            f"shared cache: {shared['requests']} lookups served; without the shared tier the same run would make "
            f"about {shared['without_shared_tier_expected']} upstream calls"
        )
    return lines


def _calls(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{operation} {count}" for operation, count in (counts or {}).items()) or "-"


def table(targets: list[Target]) -> str:
    header = ("Benchmark", "Check", "Relay", "Compared with", "Ratio", "Target", "Result")
    rows = [
        (
            t.benchmark,
            t.name,
            t.measured,
            t.reference,
            "-" if t.ratio is None else f"{t.ratio:.2f}",
            t.target,
            t.verdict,
        )
        for t in targets
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=ALL, default=list(ALL), help="run only these benchmarks")
    parser.add_argument("--cold-runs", type=int, default=10, help="cold starts per variant")
    parser.add_argument("--hit-iterations", type=int, default=5000)
    parser.add_argument("--uncached-iterations", type=int, default=1000)
    parser.add_argument("--sweep-endpoints", type=int, default=1000)
    parser.add_argument("--shared-seconds", type=float, default=20.0)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    from devstack.together_sim import make_endpoint
    from devstack.together_v2_docs import make_v2_endpoint

    started = time.monotonic()
    exits = contextlib.ExitStack()
    counted = len(cold_start.INSTRUCTION_VARIANTS)
    cold_ids = endpoint_ids("cold", len(cold_start.VARIANTS) * (args.cold_runs + 1) + 2 + counted)
    sweep_ids = endpoint_ids("sweep", args.sweep_endpoints)
    shared_ids = endpoint_ids("shared", 10)
    seed = [make_endpoint(endpoint_id) for endpoint_id in (event_endpoint_id(), *cold_ids, *sweep_ids, *shared_ids)]
    lookup_v2_id = v2_endpoint_ids("lookup", 1)[0]
    cold_v2_ids = v2_endpoint_ids("cold", len(cold_start.V2_VARIANTS) * (args.cold_runs + 1))
    seed += [make_v2_endpoint(endpoint_id, project_id=V2_PROJECT_ID) for endpoint_id in (lookup_v2_id, *cold_v2_ids)]
    document: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "benchmarks": {},
    }
    results: dict[str, Any] = document["benchmarks"]
    profiles: dict[str, Any] = {}
    package_root = exits.enter_context(package.unpacked()) if "cold_start" in args.only else None
    steps: dict[str, Callable[[Stack], Any]] = {
        "package": lambda stack: package.measure(),
        "cold_start": lambda stack: (
            cold_start.measure(
                stack, cold_ids[: -2 - counted], args.cold_runs, package_root=package_root, v2_ids=cold_v2_ids
            )
            | {"instructions": cold_start.instructions(stack, cold_ids[-2 - counted : -2])}
        ),
        "warm_hit": lambda stack: warm_hit.measure(stack, args.hit_iterations),
        "warm_uncached": lambda stack: warm_uncached.measure(stack, args.uncached_iterations),
        "v2_uncached": lambda stack: v2_uncached.measure(stack, lookup_v2_id, args.uncached_iterations),
        "v1_view": lambda stack: v1_view.measure(),
        "sweep": lambda stack: sweep.measure(stack, sweep_ids),
        "sweep_v2": lambda stack: sweep_v2.measure(stack, args.sweep_endpoints),
        "fleet": lambda stack: fleet.measure(stack, args.sweep_endpoints),
        "shared_cache": lambda stack: shared_cache.measure(stack, shared_ids, args.shared_seconds),
    }
    errors: dict[str, str] = {}
    with exits, Stack().start(seed) as stack:
        for name in ALL:
            if name not in args.only:
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            step_started = time.monotonic()
            try:
                results[name] = steps[name](stack)
            except Exception as exc:  # one broken benchmark must not hide the others' numbers
                errors[name] = f"{type(exc).__name__}: {exc}"
                print(f"  {name} failed: {errors[name]}", file=sys.stderr, flush=True)
                continue
            print(f"  done in {time.monotonic() - step_started:.1f} s", file=sys.stderr, flush=True)
            if name == "cold_start":
                profiles["cold_start_importtime"] = cold_start.import_profile(stack, cold_ids[-2:])

    targets = evaluate(results)
    missed = {t.benchmark for t in targets if t.met is False}
    # Profiles are kept only where they explain a miss.
    for benchmark, key, label in (
        ("warm hit", "warm_hit", "warm_hit_cprofile"),
        ("uncached", "warm_uncached", "uncached_cprofile"),
    ):
        profile = results.get(key, {}).pop("profile", None)
        if benchmark in missed and profile:
            profiles[label] = profile
    if "cold start" not in missed:
        profiles.pop("cold_start_importtime", None)
    if "shared cache" in missed:
        bursts = ("refresh_bursts", "fetches_per_burst", "burst_spread_ms_p50", "burst_spread_ms_max")
        profiles["shared_cache_refresh_bursts"] = {key: results["shared_cache"][key] for key in bursts}
    if "sweep" in missed:
        sweep_result = results["sweep"]
        profiles["sweep_as_deployed"] = sweep_result.get("as_deployed")
        profiles["sweep_worker_bound"] = {
            "workers": sweep_result["workers"],
            "ratio_to_ideal": round(sweep_result["relay_wall_s"] / sweep_result["ideal_s"], 3),
            "with_16_workers": sweep_result.get("with_16_workers"),
        }
    if profiles:
        profiles["explained_in"] = "benchmarks/PROFILE.md"
    document["targets"] = [asdict(t) | {"result": t.verdict} for t in targets]
    document["missed"] = [f"{t.benchmark}: {t.name}" for t in targets if t.met is False]
    document["not_measured"] = [f"{t.benchmark}: {t.name} ({t.note})" for t in targets if t.met is None]
    document["profiles"] = profiles
    document["errors"] = errors
    document["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    document["total_seconds"] = round(time.monotonic() - started, 1)
    document["table"] = table(targets).splitlines()
    document["also_measured"] = also_measured(results)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=False)
        handle.write("\n")

    print()
    print(table(targets))
    print()
    for note in document["also_measured"]:
        print(f"- {note}")
    print()
    met = len(targets) - len(document["missed"]) - len(document["not_measured"])
    load = f"{document['machine']['load_average_at_start']} -> {document['machine']['load_average_at_end']}"
    print(
        f"{met} met, {len(document['missed'])} missed, {len(document['not_measured'])} not measured; "
        f"load average {load}; {document['total_seconds']:.0f} s. "
        f"Details and profiles: {os.path.relpath(args.out, REPO)}"
    )
    for name, error in errors.items():
        print(f"{name} could not run: {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
