"""The w2s command line: clear errors with exit code 2, no tracebacks; config printing; model list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeling.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_config_prints_the_validated_config_with_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", str(REPO / "configs" / "sciq_cpu.yaml"), "--set", "data.test=7"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["data"]["test"] == 7
    assert printed["models"]["weak"]["num_hidden_layers"] == 8


def test_unknown_key_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["config", str(REPO / "configs" / "sciq_cpu.yaml"), "--set", "debate.turnz=6"])
    err = capsys.readouterr().err
    assert code == 2
    assert "debate.turnz: unknown key" in err
    assert "Traceback" not in err


def test_missing_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_data_folder_is_reported_before_any_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        ["data", str(REPO / "configs" / "sciq_cpu.yaml"), "--set", f"data.source={tmp_path / 'nowhere'}",
         "--set", f"output_dir={tmp_path / 'runs'}"]
    )
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


def test_models_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "packaged:smollm2-135m-instruct" in out and "packaged:gemma3-270m" in out
