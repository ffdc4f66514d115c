"""Errors a user can cause end in one line naming what to fix and exit 2, not a traceback (issue 16, class 4)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from labeling.cli import main

REPO = Path(__file__).resolve().parents[2]
SCIQ_CFG = str(REPO / "configs" / "sciq_cpu.yaml")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_an_output_folder_under_a_file(tmp_path: Path, shared_data: Path, capsys) -> None:
    (tmp_path / "a-file").write_text("x")
    code, err = run(["data", SCIQ_CFG, "--set", f"output_dir={tmp_path / 'a-file' / 'runs'}",
                     "--set", f"data.source={shared_data / 'sciq'}", "--set", "data.weak_train=4",
                     "--set", "data.strong_train=4", "--set", "data.test=4"], capsys)
    assert code == 2 and "Not a directory" in err and "a-file" in err and "Traceback" not in err


@pytest.mark.parametrize(("flag", "key"), [("output_dir=~no-such-user-w2s/runs", "output_dir"),
                                           ("data.source=~no-such-user-w2s/sciq", "data.source")])
def test_a_home_folder_of_no_user(capsys, flag: str, key: str) -> None:
    code, err = run(["config", SCIQ_CFG, "--set", flag], capsys)
    assert code == 2 and f"{key}: cannot expand '~no-such-user-w2s" in err and "Traceback" not in err


def test_label_out_in_a_home_folder_of_no_user(capsys) -> None:
    code, err = run(["label", "--input", "x.jsonl", "--backend", "scripted", "--out", "~no-such-user-w2s/x"], capsys)
    assert code == 2 and "out (--out): out: cannot expand" in err


@pytest.mark.parametrize("kind", ["truncated", "not_gzip"])
def test_a_broken_gz_items_file_names_the_file(tmp_path: Path, capsys, kind: str) -> None:
    path = tmp_path / "items.jsonl.gz"
    rows = "".join(json.dumps({"id": str(i), "question": f"q{i}", "answer": "a", "label": 1}) + "\n" for i in range(50))
    data = gzip.compress(rows.encode())
    path.write_bytes(data[: len(data) // 2] if kind == "truncated" else rows.encode())
    code, err = run(["label", "--input", str(path), "--backend", "scripted", "--seeds", "1",
                     "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and f"{path}: not a complete gzip file" in err and "Traceback" not in err
