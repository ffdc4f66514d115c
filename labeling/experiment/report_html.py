"""``report.html``: one self-contained page (no server, no network) with the tables, plots and a transcript browser.

The data travels inside the page as gzip-compressed, base64-encoded JSON blocks: one for the
summary and the transcripts' index (what the filters need), and one per ``CHUNK`` transcripts'
details, unpacked by the browser only when a transcript of that chunk is shown or searched.
Base64 holds no markup, and the page's script inserts every string as text, so model output
cannot become HTML or script. A Content-Security-Policy allows only the page's own script and
style (by hash) and data-URI images: nothing is fetched.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from labeling.experiment.report_data import report_data
from labeling.store import atomic_write_text

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
CHUNK = 200  # transcripts per compressed detail block


@dataclass(frozen=True)
class ReportPage:
    """A written report: its path, size in bytes and how many transcripts it holds."""

    path: Path
    size_bytes: int
    transcripts: int


def packed(value: object) -> str:
    """``value`` as JSON, gzip-compressed and base64-encoded (what the page's ``unpack`` reads)."""
    raw = json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def asset(name: str) -> str:
    """A file shipped beside this module (the page's script, style and frame)."""
    return resources.files("labeling.experiment").joinpath("report_assets", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_page(page: dict, index: list[dict], details: list[dict]) -> str:
    """The whole HTML document for the page data, the transcripts' index and their details."""
    script, style = asset("report.js"), asset("report.css")
    policy = (f"default-src 'none'; img-src data:; style-src {_sha256(style)}; script-src {_sha256(script)}; "
              "base-uri 'none'; form-action 'none'")
    blocks = [f'<script type="application/octet-stream" id="w2s-page">{packed({**page, "index": index, "chunk": CHUNK})}</script>']
    for n, start in enumerate(range(0, len(details), CHUNK)):
        blocks.append(f'<script type="application/octet-stream" id="w2s-chunk-{n}">{packed(details[start:start + CHUNK])}</script>')
    return asset("report.html").format(
        policy=html.escape(policy, quote=True),
        title=html.escape(f"w2s report: {page['title']}"),
        style=style,
        data="\n".join(blocks),
        script=script,
    )


def write_html_report(folder: Path, out: Path | None = None) -> ReportPage:
    """Write ``report.html`` for a run or comparison folder (or to ``out``); returns where and how big."""
    page, index, details = report_data(Path(folder))
    path = Path(out) if out else Path(folder) / REPORT_FILE
    text = render_page(page, index, details)
    atomic_write_text(path, text)
    written = ReportPage(path, len(text.encode("utf-8")), len(index))
    log.info("report: %s (%.1f MB, %d transcripts)", path, written.size_bytes / 1e6, written.transcripts)
    return written
