"""report.html in a real headless Chromium: it renders without errors, filters and search work, model text stays text.

Needs Debian's chromium (``make browser``, run by ``make test``) and the playwright package (dev extra).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect
from report_support import HOSTILE

from labeling.experiment.report_browser import opened_report, screenshot
from labeling.experiment.report_data import report_data
from labeling.experiment.report_html import render_page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "runs" / "test-screenshots"


def count_of(page) -> int:
    return int(page.locator("#transcript-count").text_content().split()[0])


def test_report_renders_filters_and_searches_in_a_browser(report_run) -> None:
    _, out = report_run
    _, index, details = report_data(out)
    with opened_report(out / "report.html") as (page, errors):
        assert count_of(page) == len(index) == 36
        assert page.locator("#results-table tbody tr").count() > 4
        gaps = page.locator("#gaps-table tbody tr")
        expect(gaps).to_have_count(2)  # ceiling over floor, debate student over the no-oversight student
        assert "ceiling (strong model, gold labels)" in gaps.first.text_content()
        page.select_option("#filter-split", "test")
        expect(page.locator("#transcript-count")).to_have_text(re.compile(r"^12 of 36"))
        page.select_option("#filter-verdict", "right")
        right = sum(1 for r in index if r["split"] == "test" and r["right"])
        expect(page.locator("#transcript-count")).to_have_text(re.compile(rf"^{right} of 36"))
        page.select_option("#filter-verdict", "")
        page.select_option("#filter-split", "")

        # a known transcript, found by words only its own turns contain
        target = 7
        words = details[target]["turns"][0]["segments"]
        phrase = next(text for text, kind in words if kind == "" and "Scripted argument" in text).split("Scripted argument")[1].split()[0]
        page.fill("#search", phrase)
        expect(page.locator("#transcript-count")).to_have_text(re.compile(r"^1 of 36"))
        card = page.locator("#transcript-list details").first
        assert card.get_attribute("data-id") == index[target]["id"]
        card.locator("summary").click()
        expect(card.locator("mark.v").first).to_be_visible()
        expect(card.locator("mark.u").first).to_be_visible()
        assert details[target]["question"] in card.text_content()

        # sorting a results column reorders its rows
        page.locator("#results-table th", has_text="accuracy").click()
        values = [float(t.split()[0]) for t in page.locator("#results-table tbody tr td:nth-child(3)").all_text_contents()]
        assert values == sorted(values, reverse=True)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "report_run.png"), full_page=True)
        assert page.evaluate("window.__pwned") is None  # the debaters' markup never ran
        assert HOSTILE in card.text_content()
    assert errors == []
    assert (SCREENSHOTS / "report_run.png").stat().st_size > 10_000


def hostile_page(tmp_path: Path) -> Path:
    """A page whose every string is hostile: names, notes, warnings, config, question, answer, passage, turns."""
    est = {"value": 0.6, "lo": 0.5, "hi": 0.7, "n_items": 2, "n_seeds": 1, "n_boot": 10, "alpha": 0.05, "n_dropped": 0}
    row = {"method": HOSTILE, "role": "weak", "accuracy": est, "pgr": None, "auroc": 0.5, "note": HOSTILE, "ece": None, "brier": None}
    section = {"label": "", "folder": HOSTILE, "rows": [row], "meta": {"experiment": HOSTILE}, "config": {"name": HOSTILE},
               "transcript_stats": {HOSTILE: {"items": 1, "failed": 0, "turns": 1}}, "warnings": [
                   {"time": "t", "level": "WARNING", "logger": HOSTILE, "message": HOSTILE}],
               "derived_warnings": [HOSTILE], "stages": [{"folder": HOSTILE, "kind": HOSTILE}], "plots": []}
    index = [{"split": HOSTILE, "protocol": HOSTILE, "seed": 0, "id": HOSTILE, "gold": 1, "stances": {HOSTILE: HOSTILE},
              "p": 0.7, "p_plain": 0.4, "right": True, "conf": 0.7, "quotes": 1, "verified": 1, "failed": False, "entry": HOSTILE}]
    details = [{"question": HOSTILE, "answer": "javascript:window.__pwned = 4", "evidence": HOSTILE, "failed": HOSTILE,
                "turns": [{"speaker": HOSTILE, "stance": HOSTILE, "segments": [[HOSTILE, ""], [HOSTILE, "v"]],
                           "quotes": 1, "verified": 1}],
                "judges": [{"seed": 0, "model": HOSTILE, "p": 0.7, "p_without": 0.4}], "students": {HOSTILE: 0.6}}]
    path = tmp_path / "hostile.html"
    path.write_text(render_page({"kind": "run", "title": HOSTILE, "sections": [section]}, index, details))
    return path


def test_model_text_is_data_not_markup_in_a_browser(tmp_path) -> None:
    with opened_report(hostile_page(tmp_path)) as (page, errors):
        page.locator("#transcript-list details summary").first.click()
        expect(page.locator("#transcript-list .turn").first).to_be_visible()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("main script, main img:not([src^='data:']), main a[href^='javascript']").count() == 0
        body = page.locator("main").text_content()
        assert body.count(HOSTILE) >= 10 and "javascript:window.__pwned = 4" in body
        for link in page.locator("a").all():
            assert link.get_attribute("href").startswith("#")  # only the page's own anchors are links
    assert errors == []


def test_screenshot_command_renders_the_run(report_run, tmp_path) -> None:
    _, out = report_run
    png = screenshot(out / "report.html", tmp_path / "shot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
