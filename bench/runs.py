"""Helpers shared by the benchmarks that compare with the original Ais."""

from __future__ import annotations

import json
import subprocess
import sys


def run_json(command: list[str], env: dict | None = None) -> dict:
    """Run one timed process (ours or Ais's) and return the JSON line it printed last."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        sys.exit(f"{command[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])
