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


def peak_mib() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss keeps the
    forking parent's, so a worker started from a big benchmark process would report the parent's).
    Standard library only: Ais's reference scripts import it too, in Ais's own environment."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
