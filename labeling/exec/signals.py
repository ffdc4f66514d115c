"""A killed run unwinds: SIGTERM becomes SystemExit, and child processes are stopped with their parent.

Python's default SIGTERM ends the process at once, skipping ``finally`` blocks and ``atexit``
handlers, so ``kill <pid>`` of a ``w2s`` command (or a scheduler's SIGTERM) used to leave its
Ray cluster, its vLLM engines and the private-namespace child running, debating for nobody.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from types import FrameType

log = logging.getLogger(__name__)

SIGTERM_EXIT = 128 + int(signal.SIGTERM)  # the exit status a shell reports for a SIGTERM


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(SIGTERM_EXIT)


def exit_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit(143)`` in the main thread, so ``finally`` blocks and ``atexit`` run."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_exit)


def stop_child(proc: subprocess.Popen, grace_s: float = 30.0) -> None:
    """Ask a still-running child to stop (SIGTERM); kill it if it has not ended after ``grace_s`` seconds."""
    if proc.poll() is not None:
        return
    log.warning("stopping child process %d", proc.pid)
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
