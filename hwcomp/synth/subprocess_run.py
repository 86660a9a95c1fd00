"""Run a synthesis tool so that an interrupt takes it down too.

subprocess.run kills its child on Ctrl-C but waits for it only briefly, so
the child can outlive the interrupt for a moment and Python warns that it
is still running; here the child is killed and reaped before the interrupt
goes on.
"""
from __future__ import annotations

import subprocess
from pathlib import Path


def run_tool(cmd: list[str], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess:
    """Run `cmd` in `cwd`, capturing its output; raises subprocess.TimeoutExpired after `timeout_s`."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:  # a timeout, Ctrl-C, or SIGTERM turned into KeyboardInterrupt
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
