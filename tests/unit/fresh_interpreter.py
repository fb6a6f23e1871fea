"""Run a short script in a fresh interpreter, as a new Lambda container imports the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RELAY_ENVIRONMENT = {"RELAY_SECRET_ID": "relay/secret", "AWS_DEFAULT_REGION": "us-east-1"}
"""What every function needs to build its graph; nothing is inherited from the test's own process."""


def fresh_interpreter(script: str, **environment: str) -> str:
    """The script's standard output; ``environment`` adds to :data:`RELAY_ENVIRONMENT`."""
    return subprocess.run(  # noqa: S603 - our own interpreter and the test's constant script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "", **RELAY_ENVIRONMENT, **environment},
    ).stdout
