"""``w2s simulate``: the torch student trained with training.losses, and the command on a tiny grid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.simulate import SimTask
from eval.simulate_table import SimConfig, Setting
from labeling.cli import main
from labeling.experiment.simulate import fit_linear_student, make_student, run_simulation, simulate_settings

TASK = SimTask()


@pytest.fixture(scope="module")
def data() -> tuple:
    rng = np.random.default_rng(0)
    return TASK.draw(2000, rng), TASK.draw(3000, rng)


@pytest.mark.parametrize("loss", ["xent", "logconf", "product"])
def test_a_student_on_gold_labels_is_as_good_as_the_ceiling(loss: str, data: tuple) -> None:
    train, test = data
    ceiling = np.mean((fit_linear_student(train.z, train.y.astype(float), test.z, "xent", 0) > 0.5) == test.y)
    student = np.mean((fit_linear_student(train.z, train.y.astype(float), test.z, loss, 1) > 0.5) == test.y)
    assert ceiling > TASK.bayes_accuracy() - 0.02
    assert abs(student - ceiling) < 0.015


def test_ceiling_beats_weak_and_fully_fixed_labels_recover_the_gap() -> None:
    config = SimConfig(n_train=1000, n_weak_train=1000, n_test=1500, seeds=3, n_boot=500)
    settings = [Setting("structured-correlated", 0.7, fix_rate=f) for f in (0.0, 1.0)]
    plain, fixed = run_simulation(settings, config, fit=make_student(), progress=False)
    assert plain.ceiling.value > plain.weak.value + 0.15
    assert plain.pgr.hi < 0.6  # a linear student can copy these errors
    assert fixed.label_accuracy == 1.0
    assert abs(fixed.student.value - fixed.ceiling.value) < 0.015
    assert fixed.pgr.lo <= 1.0 <= fixed.pgr.hi + 0.02


def test_unknown_losses_and_empty_grids_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="--losses"):
        simulate_settings(["random"], [0.7], [0.0], ["hinge"])
    with pytest.raises(ValueError, match="at least one"):
        simulate_settings(["random"], [], [0.0], ["xent"])
    assert len(simulate_settings(["random", "view"], [0.6, 0.8], [0.0, 0.3], ["xent", "logconf"])) == 16


def test_the_command_prints_the_table_and_writes_three_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim"
    code = main(["simulate", "--weak-accuracy", "0.7", "0.9", "--errors", "random", "structured",
                 "--seeds", "2", "--losses", "xent", "logconf", "--n-train", "300", "--n-test", "300",
                 "--epochs", "5", "--n-boot", "200", "--no-progress", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| random") or line.startswith("| structured")]
    assert len(rows) == 8 and "| random | 0.7 | 0 | logconf |" in printed
    assert "PGR % [95% CI]" in printed
    assert (out / "simulate.md").read_text().count("\n| ") == 9  # header + 8 rows
    saved = json.loads((out / "simulate.json").read_text())
    assert len(saved["rows"]) == 8 and saved["config"]["seeds"] == 2
    assert (out / "simulate.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("flags", "message"), [
    (["--seeds", "1"], "--seeds"), (["--weak-accuracy", "1.2"], "--weak-accuracy"),
    (["--fix-rate", "-0.1"], "--fix-rate"), (["--losses", "hinge"], "--losses"),
])
def test_bad_options_exit_2_with_the_option_named(flags: list[str], message: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--out", str(tmp_path), "--no-progress", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_simulation_is_deterministic_per_seed_and_the_seeds_differ() -> None:
    """Same config, same rows (data, weak labels, fixes and the torch student are all seeded); another data seed differs."""
    settings = simulate_settings(["random", "structured"], [0.7], [0.0, 0.3], ["xent", "logconf"])

    def rows(data_seed: int) -> list[dict]:
        config = SimConfig(task=SimTask(dim=6), n_train=300, n_weak_train=300, n_test=300, seeds=2,
                           data_seed=data_seed, n_boot=200)
        return [r.to_dict() for r in run_simulation(settings, config, progress=False)]

    first, again, other = rows(0), rows(0), rows(1)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    assert json.dumps(first, sort_keys=True) != json.dumps(other, sort_keys=True)
