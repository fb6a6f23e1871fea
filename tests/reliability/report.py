"""`make reliability-report`: the figures of the latest `make test` (and `make soak`), for docs/reliability.md.

Prints a Markdown table built from reports/*.json. With ``--page``, it also puts the table into
that page between ``<!-- reliability:start -->`` and ``<!-- reliability:end -->``, and changes
nothing else; a page without those markers is left alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.reliability import figures

START, END = "<!-- reliability:start -->", "<!-- reliability:end -->"
REGENERATE = (
    "Regenerate: `make test` (or `make soak` for the long runs), then `make reliability-report`; "
    "the raw figures are in `reports/`."
)
MISSING = "not run yet"
SOURCE_NAMES = {
    "dynamodb": "DynamoDB",
    "secrets-manager": "Secrets Manager",
    "slack": "Slack webhook",
    "sns": "SNS",
    "together": "Together",
}


STALE = "figures from an older version: rerun"


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def _faults(data: dict[str, Any] | None) -> str:
    if data is None:
        return MISSING
    by_source = _listing({SOURCE_NAMES.get(name, name): count for name, count in data["passed_by_group"].items()})
    return (
        f"{data['passed']} of {data['rows']} rows passed ({by_source}); every row also checks that no secret "
        "leaked and that the owed notification reached each sink exactly once after the fault"
    )


def _hostile(data: dict[str, Any] | None) -> str:
    if data is None:
        return MISSING
    properties = data["properties"]
    held = (
        f"all {properties['rows']} properties held"
        if properties["failed"] == 0
        else f"{properties['failed']} of {properties['rows']} properties FAILED"
    )
    return (
        f"{data['cases']} cases ({_listing(data['cases_by_property'])}); {held}: no 5xx, no upstream call or "
        "secret fetch for an invalid id, no signature bypass, no reflected secret"
    )


def _load(data: dict[str, Any] | None) -> str:
    if data is None:
        return MISSING
    return (
        f"{data['requests']} requests from {data['clients']} concurrent clients in {data['duration_seconds']} s "
        f"({data['requests_per_second']}/s): {data['errors']} errors, "
        f"p50 {data['p50_ms']} ms, p99 {data['p99_ms']} ms; Together called at most "
        f"{data['upstream_calls_max_per_endpoint']} time(s) per endpoint (the {data['cache_ttl_seconds']} s cache "
        f"allows {data['upstream_calls_allowed_per_endpoint']}), {data['upstream_calls_unknown_id']} for an unknown "
        f"id (the {data['negative_ttl_seconds']} s negative cache allows {data['upstream_calls_allowed_unknown_id']})"
    )


def _leaks(data: dict[str, Any] | None, serve: dict[str, Any] | None) -> str:
    if data is None:
        return MISSING
    sources = _listing(data["texts_scanned_by_source"])
    megabytes = data["bytes_scanned"] / 1_000_000
    return (
        f"{data['leaks']} leaks in {data['texts_scanned']} texts ({megabytes:.1f} MB) from {data['tests_checked']} "
        f"tests ({sources}); checked for the Together key, relay tokens, the Slack signing secret and webhook URL"
        + (f"; `make serve` under load: {serve['lines_scanned']} output lines" if serve else "")
    )


def _scanner(data: dict[str, Any] | None, tool: str) -> str:
    if data is None or tool not in data:
        return MISSING
    result = data[tool]
    return f"{result['status']}: {result['summary']}"


def table() -> list[str]:
    read = figures.read
    security = read("security")
    stamps = sorted(d["generated_at"] for d in map(read, ("fault_matrix", "hostile_input", "load")) if d)
    rows = [
        ("Fault matrix", _safely(lambda: _faults(read("fault_matrix")))),
        ("Hostile input (hypothesis, derandomized)", _safely(lambda: _hostile(read("hostile_input")))),
        ("Load on `make serve`'s HTTP front (loopback)", _safely(lambda: _load(read("load")))),
        ("Secret-leak sweep", _safely(lambda: _leaks(read("leak_sweep"), read("serve_output")))),
        ("bandit on src/", _safely(lambda: _scanner(security, "bandit"))),
        ("cfn-lint + serverless rules on template.yaml", _safely(lambda: _scanner(security, "cfn-lint"))),
        ("pip-audit on src/requirements.txt", _safely(lambda: _scanner(security, "pip-audit"))),
    ]
    lines = ["Figures from the latest `make test`" + (f" ({stamps[-1]})." if stamps else "."), ""]
    lines += ["| Check | Result |", "|---|---|"]
    lines += [f"| {name} | {describe()} |" for name, describe in rows]
    return lines


def _safely(describe: Callable[[], str]) -> Callable[[], str]:
    def run() -> str:
        try:
            return describe()
        except (KeyError, TypeError, ValueError):
            return STALE

    return run


def soak_line() -> str | None:
    hostile, load = figures.read("hostile_input", "soak"), figures.read("load", "soak")
    if hostile is None or load is None:
        return None
    held = hostile["properties"]
    return (
        f"The latest `make soak` ({max(hostile['generated_at'], load['generated_at'])}): {hostile['cases']} hostile "
        f"cases, {held['passed']} of {held['rows']} properties held; {load['requests']} requests from "
        f"{load['clients']} clients in {load['duration_seconds']} s with {load['errors']} errors, "
        f"p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, Together called at most "
        f"{load['upstream_calls_max_per_endpoint']} time(s) per endpoint "
        f"(the cache allows {load['upstream_calls_allowed_per_endpoint']})."
    )


def markdown() -> str:
    lines = table()
    soak = _safely(lambda: soak_line() or "")()
    if soak:
        lines += ["", soak]
    return "\n".join([*lines, "", REGENERATE])


def update_page(page: Path, text: str) -> bool:
    if not page.is_file():
        return False
    current = page.read_text(encoding="utf-8")
    if current.count(START) != 1 or current.count(END) != 1 or current.index(START) > current.index(END):
        return False
    before, rest = current.split(START, 1)
    after = rest.split(END, 1)[1]
    page.write_text(f"{before}{START}\n{text}\n{END}{after}", encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=Path, help="the Markdown page to update between the reliability markers")
    args = parser.parse_args()
    text = markdown()
    print(text)
    if args.page is not None:
        updated = update_page(args.page, text)
        where = f"{args.page} updated between {START} and {END}"
        print(f"\nreliability-report: {where}" if updated else f"\nreliability-report: {args.page} has no markers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
