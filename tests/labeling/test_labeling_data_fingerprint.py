"""The data stage is keyed by the content of the files it reads, not only by the config."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from labeling.config import load_config
from labeling.data.registry import source_fingerprint
from labeling.data.stage import data_semantic, prepare_splits

REPO = Path(__file__).resolve().parents[2]
SCIQ = REPO.parent / "shared" / "data" / "sciq"


def copy_sciq(folder: Path) -> Path:
    """A user's SciQ-shaped folder: only the validation and test files (small), copied."""
    folder.mkdir(parents=True)
    for name in ("valid.json", "test.json"):
        shutil.copy(SCIQ / name, folder / name)
        os.chmod(folder / name, 0o644)
    return folder


def config(tmp_path: Path, source: str) -> object:
    return load_config(REPO / "configs" / "sciq_cpu.yaml", [
        f"output_dir={tmp_path / 'runs'}", f"data.source={source}",
        "data.weak_train=8", "data.strong_train=8", "data.test=8",
    ])


def test_replacing_the_source_files_makes_new_splits(tmp_path: Path) -> None:
    folder = copy_sciq(tmp_path / "mydata")
    cfg = config(tmp_path, str(folder))
    first = prepare_splits(cfg)
    before = data_semantic(cfg)

    rows = json.loads((folder / "valid.json").read_text())
    for row in rows:  # the same number of rows, every question reworded: the old splits are stale
        row["question"] = "Reworded: " + row["question"]
    (folder / "valid.json").write_text(json.dumps(rows))

    after = data_semantic(cfg)
    assert after != before and after["source_files"]["valid.json"] != before["source_files"]["valid.json"]
    assert after["source_files"]["test.json"] == before["source_files"]["test.json"]
    second = prepare_splits(cfg)
    assert all(q.startswith("Reworded: ") for q in second.weak_train["question"])
    assert not any(q.startswith("Reworded: ") for q in first.weak_train["question"])
    data_stages = sorted(p.name for p in (tmp_path / "runs" / "artifacts").iterdir() if p.name.startswith("data-"))
    assert len(data_stages) == 2  # the old splits stay where they were, nothing is overwritten


def test_unchanged_files_reuse_the_splits_and_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_sciq(tmp_path / "mydata")
    cfg = config(tmp_path, str(folder))
    prepare_splits(cfg)
    os.utime(folder / "valid.json")  # touched, not changed: the content decides
    with caplog.at_level(logging.INFO, logger="labeling.data.stage"):
        prepare_splits(cfg)
    assert "reusing the splits" in caplog.text
    assert len([p for p in (tmp_path / "runs" / "artifacts").iterdir() if p.name.startswith("data-")]) == 1


def test_a_bare_relative_source_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_sciq(tmp_path / "here" / "mydata")
    copy_sciq(tmp_path / "there" / "mydata")
    (tmp_path / "there" / "mydata" / "test.json").write_text("[]")
    monkeypatch.chdir(tmp_path / "here")
    here = config(tmp_path, "mydata")
    monkeypatch.chdir(tmp_path / "there")
    there = config(tmp_path, "mydata")
    assert here.data.source == str(tmp_path / "here" / "mydata")
    assert there.data.source == str(tmp_path / "there" / "mydata")
    assert data_semantic(here) != data_semantic(there)


def test_the_hub_has_no_file_fingerprint_and_local_files_are_hashed_by_content(tmp_path: Path) -> None:
    assert source_fingerprint("sciq", None) is None
    a, b = copy_sciq(tmp_path / "a"), copy_sciq(tmp_path / "b")
    assert source_fingerprint("sciq", a) == source_fingerprint("sciq", b)
    assert set(source_fingerprint("sciq", a)) == {"valid.json", "test.json"}
