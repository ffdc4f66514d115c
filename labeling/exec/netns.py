"""Run a local Ray inside a private network namespace (loopback only).

Ray binds every interface and talks to itself over the machine's own non-loopback
address. Where that is not allowed (this project's development and CI machines),
a local Ray must live in a fresh network namespace with only ``lo`` up. Two ways in:

* ``isolated_command(argv)`` wraps a child process in ``unshare -n`` (used by the CLI
  for the Ray stage, so the rest of the pipeline keeps its network for the hub);
* ``enter_private_netns()`` moves the calling process itself (used once, at the start
  of the test session, before any thread exists).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import subprocess
from typing import Literal

log = logging.getLogger(__name__)

INSIDE_FLAG = "W2S_PRIVATE_NETNS"
_CLONE_NEWNET = 0x40000000

IsolationMode = Literal["auto", "on", "off"]


def inside_private_netns() -> bool:
    """True when this process already runs in a namespace we made."""
    return os.environ.get(INSIDE_FLAG) == "1"


def can_isolate() -> bool:
    """True when ``unshare -n`` works here (Linux, root or CAP_SYS_ADMIN, util-linux and iproute2)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    try:
        probe = subprocess.run(
            ["unshare", "-n", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def wants_isolation(mode: IsolationMode, address: str | None) -> bool:
    """Decide whether a Ray stage must run in a private namespace.

    Joining an existing cluster (``address`` set) never isolates; ``on`` insists
    (error if impossible); ``auto`` isolates where it can.
    """
    if address or inside_private_netns() or mode == "off":
        return False
    possible = can_isolate()
    if mode == "on" and not possible:
        raise RuntimeError(
            "ray.private_network=on but `unshare -n` is not available (needs Linux, root, util-linux, iproute2)"
        )
    if not possible:
        log.warning("cannot create a private network namespace; starting Ray on the host network")
    return possible


def isolated_command(argv: list[str]) -> list[str]:
    """Wrap ``argv`` so it runs in a new network namespace with loopback up."""
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "w2s-netns", *argv]


def isolated_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a process inside the namespace: no hub access, no Ray auth, flag set."""
    env = dict(os.environ if base is None else base)
    env[INSIDE_FLAG] = "1"
    env.setdefault("RAY_AUTH_MODE", "disabled")
    env["HF_HUB_OFFLINE"] = "1"
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return env


def enter_private_netns() -> None:
    """Move this process into a new network namespace and bring loopback up.

    Must be called before the process starts threads: a namespace change applies to
    the calling thread and to what it creates afterwards.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ.update({INSIDE_FLAG: "1", "RAY_USAGE_STATS_ENABLED": "0"})
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
