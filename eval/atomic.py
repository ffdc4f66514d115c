"""The one atomic write of the eval package: bytes to a temporary sibling, then renamed over the target."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path


@functools.cache
def default_file_mode() -> int:
    """The mode a plainly created file gets here: 0o666 less the process umask (read once).

    ``tempfile.mkstemp`` makes 0600 files, and renaming keeps the mode, so without this every
    artifact would be private to its writer whatever the umask (a shared ``runs/`` unreadable).
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, default_file_mode())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
