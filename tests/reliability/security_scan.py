"""`make security`: bandit on src/, pip-audit on the runtime pins, cfn-lint's serverless rules on template.yaml.

Each scanner must report zero high findings, or each one must be justified. The
scanners run from their own venv (requirements-security.txt); this script only
runs them, judges their JSON and writes ``reports/security.json``. Exit status 1
means a finding nobody justified, or a scanner that failed to run.

pip-audit needs a vulnerability service (PyPI's JSON API or OSV). Where neither
answers, it cannot audit anything; that is reported as a loud SKIP, never as a
pass, and any real finding still fails the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import figures

ROOT = figures.ROOT
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
TIMEOUT_SECONDS = 600

# cfn-lint findings judged acceptable, with why. Better still in template.yaml itself, as
# `Metadata: cfn-lint: config: ignore_checks: [...]` on the resource (cfn-lint honours it).
JUSTIFIED_TEMPLATE_FINDINGS: dict[tuple[str, str], str] = {}
"""Findings accepted outside the template; empty: each accepted rule is justified in place (template Metadata)."""
BANDIT_GATE = ("HIGH", "MEDIUM")
"""Severities that fail the run unless marked ``# nosec <id>`` with a reason in place."""


@dataclass
class Result:
    tool: str
    target: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def print(self) -> None:
        banner = "!" * 100 if self.status == SKIP else None
        if banner:
            print(banner)
        print(f"security: {self.tool} on {self.target}: {self.status} - {self.summary}")
        for line in self.details:
            print(f"    {line}")
        if banner:
            print(banner)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def bandit(tools: Path) -> Result:
    done = _run([str(tools / "bandit"), "-r", "src", "-f", "json", "-q"])
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return Result("bandit", "src/", FAIL, f"did not run (exit {done.returncode})", done.stderr.splitlines()[-5:])
    issues = report.get("results", [])
    by_severity = {level: [i for i in issues if i["issue_severity"] == level] for level in ("HIGH", "MEDIUM", "LOW")}
    blocking = [issue for level in BANDIT_GATE for issue in by_severity[level]]
    details = [
        f"{i['issue_severity'].lower()} {i['test_id']} {i['filename']}:{i['line_number']} {i['issue_text']}"
        for i in blocking + by_severity["LOW"]
    ]
    counts = {level.lower(): len(found) for level, found in by_severity.items()}
    counts["nosec"] = int(report.get("metrics", {}).get("_totals", {}).get("nosec", 0))
    counts["low_justified_in_place"] = sum(_justified_in_place(i["filename"], i["line_number"]) for i in issues)
    summary = f"{counts['high']} high, {counts['medium']} medium, {counts['low']} low"
    if counts["low"]:
        summary += f" ({counts['low_justified_in_place']} of them justified in place by a ruff noqa with its reason)"
    return Result("bandit", "src/", FAIL if blocking else PASS, summary, details, counts)


def _justified_in_place(filename: str, line_number: int) -> bool:
    """The flagged line carries ``# nosec`` or ruff's ``# noqa: S...`` (flake8-bandit's codes) and a reason."""
    line = (ROOT / filename).read_text(encoding="utf-8").splitlines()[line_number - 1]
    marker = "# nosec" if "# nosec" in line else "# noqa: S" if "# noqa: S" in line else None
    return marker is not None and " - " in line.split(marker, 1)[1]


def pip_audit(tools: Path) -> Result:
    target = "src/requirements.txt"
    command = [str(tools / "pip-audit"), "-r", target, "-f", "json", "--progress-spinner", "off", "--timeout", "20"]
    done = _run(command)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        unreachable = any(marker in done.stderr for marker in ("ConnectionError", "NameResolution", "Max retries"))
        if unreachable:
            why = "pip-audit could not reach any vulnerability service (PyPI JSON API, OSV)"
            return Result("pip-audit", target, SKIP, why, done.stderr.splitlines()[-3:], {"audited": 0})
        return Result("pip-audit", target, FAIL, f"did not run (exit {done.returncode})", done.stderr.splitlines()[-5:])
    dependencies = report.get("dependencies", [])
    vulnerable = [dep for dep in dependencies if dep.get("vulns")]
    unaudited = [dep for dep in dependencies if "skip_reason" in dep]
    audited = len(dependencies) - len(unaudited)
    numbers = {
        "dependencies": len(dependencies),
        "audited": audited,
        "unaudited": len(unaudited),
        "vulnerabilities": sum(len(dep["vulns"]) for dep in vulnerable),
    }
    details = [
        f"{dep['name']} {dep.get('version', '')}: {', '.join(v['id'] for v in dep['vulns'])}" for dep in vulnerable
    ]
    if vulnerable:
        return Result(
            "pip-audit", target, FAIL, f"{numbers['vulnerabilities']} known vulnerabilities", details, numbers
        )
    if unaudited:
        details += [f"{dep['name']}: {dep['skip_reason']}" for dep in unaudited]
        why = (
            f"{len(unaudited)} of {len(dependencies)} packages could not be audited: the advisory service "
            "(PyPI's JSON API) had no answer for them, so nothing was checked"
        )
        status = SKIP if audited == 0 else FAIL
        return Result("pip-audit", target, status, why, details, numbers)
    return Result("pip-audit", target, PASS, f"{len(dependencies)} packages audited, none vulnerable", [], numbers)


def cfn_lint(tools: Path) -> Result:
    target = "template.yaml"
    rules = ["--append-rules", "cfn_lint_serverless.rules"]
    done = _run([str(tools / "cfn-lint"), target, *rules, "--format", "json"])
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError:
        return Result("cfn-lint", target, FAIL, f"did not run (exit {done.returncode})", done.stderr.splitlines()[-5:])
    justified: list[str] = []
    unjustified: list[str] = []
    for finding in findings:
        path = finding["Location"].get("Path") or []
        rule, resource = finding["Rule"]["Id"], path[1] if len(path) > 1 else ""
        line = f"{finding['Level'].lower()} {rule} {resource}: {finding['Message']}"
        reason = JUSTIFIED_TEMPLATE_FINDINGS.get((rule, resource))
        (justified if reason else unjustified).append(f"{line}\n      justified: {reason}" if reason else line)
    errors = [f for f in findings if f["Level"] == "Error"]
    blocking = [line for line in unjustified if line.startswith("error")]
    numbers = {"errors": len(errors), "warnings": len(findings) - len(errors), "justified": len(justified)}
    numbers["unjustified"] = len(unjustified)
    summary = (
        f"with serverless rules: {len(errors)} errors, {numbers['warnings']} warnings; "
        f"{len(justified)} justified, {len(blocking)} unjustified errors"
    )
    return Result("cfn-lint", target, FAIL if blocking else PASS, summary, unjustified + justified, numbers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=Path, default=ROOT / ".venv-security" / "bin", help="the scanners' bin dir")
    args = parser.parse_args()
    results = [bandit(args.tools), cfn_lint(args.tools), pip_audit(args.tools)]
    for result in results:
        result.print()
    figures.write(
        "security",
        {
            result.tool: {"target": result.target, "status": result.status, "summary": result.summary, **result.figures}
            for result in results
        },
        always=True,
    )
    failed = [result.tool for result in results if result.status == FAIL]
    skipped = [result.tool for result in results if result.status == SKIP]
    if skipped:
        print(f"security: SKIPPED, NOT PASSED: {', '.join(skipped)} (see above)")
    print(f"security: {'FAILED: ' + ', '.join(failed) if failed else 'no unjustified finding'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
