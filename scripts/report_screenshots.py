"""The README's two pictures of report.html: the top of the page, and the transcript browser on a judge error.

    .venv/bin/python scripts/report_screenshots.py runs/quickstart docs

Writes DOCS/report_tables.png and DOCS/report_transcripts.png (needs Chromium and playwright).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from labeling.experiment.report_browser import opened_report
from labeling.experiment.report_html import write_html_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run folder (runs/NAME)")
    parser.add_argument("docs", type=Path, help="where the PNGs go")
    args = parser.parse_args()
    page_file = write_html_report(args.run).path
    args.docs.mkdir(parents=True, exist_ok=True)
    with opened_report(page_file, width=1280, height=1000) as (page, errors):
        page.screenshot(path=str(args.docs / "report_tables.png"))
        page.select_option("#filter-split", "test")
        page.select_option("#sort", "confidently wrong first")
        page.wait_for_timeout(1000)  # the filters apply after a short input debounce
        page.locator("#transcript-list details summary").first.click()
        page.wait_for_selector("#transcript-list .turn")
        transcripts = args.docs / "report_transcripts.png"
        page.locator("#transcripts").screenshot(path=str(transcripts))
    with Image.open(transcripts) as picture:  # the browser, the opened transcript and a few more, not all 20
        picture.crop((0, 0, picture.width, min(picture.height, 1300))).save(transcripts)
    if errors:  # collected until the browser closed
        raise SystemExit(f"the page logged errors: {errors}")
    for name in ("report_tables.png", "report_transcripts.png"):
        print(args.docs / name, f"{(args.docs / name).stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
