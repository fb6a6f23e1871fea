"""`make demo` as a user runs it: a process of its own that tells every story, v1 and v2, and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devstack.v2_seed import V2_FAILED_ID, V2_HEALTHY_ID

ROOT = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT_SECONDS = 180
"""A bound on a hung demo, far above its usual run; not a timing assertion."""


def test_make_demo_runs_every_step_and_shows_the_v2_endpoints() -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        # The suite's defaults point at a dead port; the demo chooses its own upstream and AWS.
        if not name.startswith(("TOGETHER_API_", "RELAY_", "SLACK_", "AWS_ENDPOINT_URL"))
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    completed = subprocess.run(
        [sys.executable, "-m", "devstack.demo"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
        check=False,
    )
    transcript = completed.stdout

    assert completed.returncode == 0, transcript[-4000:] + completed.stderr[-2000:]
    outcomes = transcript.rsplit("== Stopped", 1)[-1]
    for step in ("HTTP lookup", "slash command", "scheduled sweep", "v2 lookup", "v1 view", "v2 notices"):
        assert step.ljust(16) + " ran" in outcomes, outcomes
    # The daily digest: a Slack post that failed is retried by a duplicate delivery, and nothing is posted twice.
    assert "daily digest".ljust(16) + " ran" in outcomes, outcomes
    assert "Daily digest " in transcript and '"posted": ["slack"]' in transcript
    assert "Idle, still billing" in transcript  # the idle deployment, from the fleet view
    assert f"GET /v2/projects/proj_sim/endpoints/{V2_HEALTHY_ID}" in transcript
    assert "X-Relay-Translated-From: v2" in transcript
    assert f'"id": "{V2_FAILED_ID}", "state": "ERROR"' in transcript
    # Each v2 story is notified, the FAILED one with the events feed's reason.
    for title in ("Embeddings v2 (failed)", "Rerank v2 (degraded)", "Vision v2 (stuck provisioning)"):
        assert f"Firing: {title}" in transcript, title
    assert "Firing: Experiment v2 (should be stopped)" in transcript
    assert "Container exited with code 137 (OOMKilled)" in transcript
    assert "below its minimum of 2" in transcript
    assert "# Rerank v2 (degraded): DEGRADED" in transcript  # the /together status reply
    # The idle deployment fires with what it cost, from one analytics call
    assert "idle deployment".ljust(16) + " ran" in outcomes, outcomes
    assert "Firing: Summaries v2 (forgotten after a test)" in transcript
    assert "$0.70 spent idle (2 x $6.98/h x 0.05 h)" in transcript
