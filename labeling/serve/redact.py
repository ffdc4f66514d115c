"""What the judge server never shows: filesystem paths in ``/v1/models``, query strings in its access log.

The server takes API keys only from the ``Authorization`` header, but a client may still put one
in the URL (``?api_key=...``); uvicorn's access log would print it. ``QueryStringFilter`` on the
``uvicorn.access`` logger replaces every query string with ``?<redacted>``.
"""

from __future__ import annotations

import logging
import os
from pathlib import PurePath
from typing import Any

ACCESS_LOGGER = "uvicorn.access"
REDACTED_QUERY = "?<redacted>"


def looks_like_path(text: str) -> bool:
    """True for a string that names a place on a filesystem: absolute, ``~``, ``./``, ``../``, or 2+ slashes.

    URLs (``scheme://``) and hub ids (``owner/name``) are not paths.
    """
    if "://" in text:
        return False
    return os.path.isabs(text) or text.startswith(("~", "./", "../")) or text.count("/") > 1


def without_paths(value: Any) -> Any:
    """``value`` (JSON-like) with every path-like string replaced by its last component (the folder name)."""
    if isinstance(value, dict):
        return {key: without_paths(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_paths(item) for item in value]
    if isinstance(value, str) and looks_like_path(value):
        return PurePath(value).name
    return value


class QueryStringFilter(logging.Filter):
    """Rewrite uvicorn access-log records so the request line carries the path only, never the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the query string of the record's path (uvicorn's third argument); always keep the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            path = args[2].split("?", 1)[0]
            record.args = (args[0], args[1], path + REDACTED_QUERY, *args[3:])
        return True


def redact_access_log(logger_name: str = ACCESS_LOGGER) -> None:
    """Install ``QueryStringFilter`` on uvicorn's access logger (once)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, QueryStringFilter) for f in logger.filters):
        logger.addFilter(QueryStringFilter())
