"""Limits and knobs of the judge server, and where its API keys come from."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

API_KEYS_ENV = "W2S_JUDGE_API_KEYS"
MIN_KEY_LENGTH = 16


class InsecureBindingError(ValueError):
    """The server was asked to listen beyond loopback without any API key."""


@dataclass(frozen=True)
class ServerSettings:
    """Everything about serving that is not the judge itself.

    Sizes are enforced before a request reaches the model: ``max_body_bytes`` (413),
    ``max_items`` per request and ``max_transcript_chars`` / ``max_field_chars`` per field (422).
    ``max_batch`` texts and ``max_wait_ms`` bound the micro-batcher; ``max_batch=1`` handles
    texts one by one. ``api_keys`` empty means no authentication (loopback only).
    """

    api_keys: frozenset[str] = field(default_factory=frozenset)
    max_body_bytes: int = 1_000_000
    max_items: int = 64
    max_field_chars: int = 8_000
    max_transcript_chars: int = 20_000
    max_batch: int = 32
    max_wait_ms: float = 5.0
    threshold: float = 0.5
    threads: int = 1
    debate_concurrency: int = 1

    def __post_init__(self) -> None:
        positive = {
            "max_body_bytes": self.max_body_bytes,
            "max_items": self.max_items,
            "max_field_chars": self.max_field_chars,
            "max_transcript_chars": self.max_transcript_chars,
            "max_batch": self.max_batch,
            "threads": self.threads,
            "debate_concurrency": self.debate_concurrency,
        }
        bad = [name for name, value in positive.items() if value < 1]
        if bad:
            raise ValueError(f"server settings must be >= 1: {', '.join(bad)}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")
        for key in self.api_keys:
            check_key(key)


def check_key(key: str) -> str:
    """Reject keys that are too short to be secrets or carry whitespace."""
    if len(key) < MIN_KEY_LENGTH:
        raise ValueError(f"API keys must have at least {MIN_KEY_LENGTH} characters")
    if any(ch.isspace() for ch in key):
        raise ValueError("API keys must not contain whitespace")
    return key


def read_key_file(path: str | Path) -> set[str]:
    """Keys from a file, one per line; blank lines and ``#`` comments are skipped.

    Refuses a file that other users may read, like ssh does for private keys.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"API key file {path} is a folder: give the file that holds one key per line")
    if not path.exists():
        raise ValueError(f"API key file {path} does not exist")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"API key file {path} is readable by other users; chmod 600 it")
    keys = set()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                keys.add(check_key(line))
            except ValueError as exc:  # the key itself is never echoed
                raise ValueError(f"API key file {path}: line {number}: {exc}") from None
    return keys


def load_api_keys(key_file: str | Path | None = None, environ: dict[str, str] | None = None) -> frozenset[str]:
    """The union of the keys in ``$W2S_JUDGE_API_KEYS`` (comma-separated) and ``key_file``."""
    env = os.environ if environ is None else environ
    keys = {check_key(k.strip()) for k in env.get(API_KEYS_ENV, "").split(",") if k.strip()}
    if key_file is not None:
        keys |= read_key_file(key_file)
    return frozenset(keys)


def is_loopback(host: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ensure_port_free(host: str, port: int) -> None:
    """Raise a ValueError naming ``--port`` when ``host:port`` cannot be bound (in use, or not an address here).

    Checked before the model loads, so a busy port costs a second, not a judge load and a uvicorn traceback.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
            raise ValueError(f"cannot listen on {host}:{port} ({why}): pick another --port or --host") from None


def ensure_safe_binding(host: str, api_keys: frozenset[str]) -> None:
    """Raise unless the server either binds to loopback or has at least one API key."""
    if not api_keys and not is_loopback(host):
        raise InsecureBindingError(
            f"refusing to listen on {host!r} without API keys; set ${API_KEYS_ENV} or pass "
            "--api-key-file (or bind to 127.0.0.1)"
        )
