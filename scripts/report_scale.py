"""How report.html scales: size and browser load / filter / search times for a page of N transcripts.

The transcripts are a finished run's own (their texts, quotes, judge and student numbers), repeated
with fresh item ids until there are N, so the page's content is what a real run of that size holds.

    .venv/bin/python scripts/report_scale.py runs/quickstart --transcripts 10000

Prints one line per measurement; needs Chromium and playwright (as the report tests do).
"""

from __future__ import annotations

import argparse
import copy
import re
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect

from labeling.experiment.report_browser import opened_report
from labeling.experiment.report_data import report_data
from labeling.experiment.report_html import render_page


def scaled(index: list[dict], details: list[dict], n: int) -> tuple[list[dict], list[dict]]:
    """The run's transcripts repeated (ids made unique) until there are ``n``."""
    rows, texts = [], []
    for k in range(n):
        row = copy.deepcopy(index[k % len(index)])
        row["id"] = f"{row['id']}#{k // len(index)}"
        rows.append(row)
        texts.append(details[k % len(details)])
    return rows, texts


def seconds_until(page, action, count_prefix: str) -> float:
    """Seconds from ``action()`` until the transcript count starts with ``count_prefix``."""
    started = time.perf_counter()
    action()
    expect(page.locator("#transcript-count")).to_have_text(re.compile("^" + count_prefix), timeout=600_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder (runs/NAME)")
    parser.add_argument("--transcripts", type=int, default=10_000)
    args = parser.parse_args()
    page_data, index, details = report_data(args.run)
    rows, texts = scaled(index, details, args.transcripts)
    started = time.perf_counter()
    html = render_page(page_data, rows, texts)
    build = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(html)
        print(f"transcripts {len(rows)}  page {len(html.encode()) / 1e6:.1f} MB  built in {build:.1f} s")
        started = time.perf_counter()
        with opened_report(path) as (page, errors):
            loaded = time.perf_counter() - started
            print(f"launch headless Chromium, open the file, tables and first page of transcripts shown: {loaded:.2f} s")
            tests = sum(row["split"] == "test" for row in rows)
            split = seconds_until(page, lambda: page.select_option("#filter-split", "test"), f"{tests} of")
            print(f"filter by split (includes the page's 0.15 s input debounce): {split:.2f} s")
            seconds_until(page, lambda: page.select_option("#filter-split", ""), str(len(rows)))
            target = rows[-1]["id"]
            search = seconds_until(page, lambda: page.fill("#search", target), "1 of")
            print(f"first text search (unpacks every transcript): {search:.2f} s")
            seconds_until(page, lambda: page.fill("#search", ""), str(len(rows)))
            again = seconds_until(page, lambda: page.fill("#search", rows[-2]["id"]), "1 of")
            print(f"next search: {again:.2f} s")
        print(f"browser errors: {errors or 'none'}")


if __name__ == "__main__":
    main()
