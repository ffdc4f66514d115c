"""Inputs that were once accepted and quietly changed the experiment are now errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.cli import main
from labeling.config import ConfigError, load_config
from labeling.config.base import bool_for_number
from test_labeling_config import MINIMAL, write  # the minimal experiment file of the config tests


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("training.seeds=[0, 0]", r"training\.seeds: seeds must be a non-empty list of distinct ints"),
        ("training.seeds=[]", r"training\.seeds: seeds must be a non-empty list"),
        ("data.test=true", r"data\.test: a boolean \(True\) where a number is expected"),
        ("data.weak_train=false", r"data\.weak_train: a boolean"),
        ("training.seeds=[0, true]", r"training\.seeds: a boolean"),
        ("training.threads=true", r"training\.threads: a boolean"),
        ("training.weak.lr=true", r"training\.weak\.lr: a boolean"),
        ("eval.n_boot=true", r"eval\.n_boot: a boolean"),
        ("training.student_losses=[{name: logconf, params: {aux_coef: true}}]", r"params: a boolean"),
        ("training.student_losses=[{name: xent, sources: [debat]}]",
         r"training\.student_losses\[0\]\.sources: \['debat'\] match no label source of this run"),
        ("training.student_losses=[{name: xent}, {name: logconf, sources: [none/debate_ensemble]}]",
         r"training\.student_losses\[1\]\.sources: \['none/debate_ensemble'\] match no label source"),
    ],
)
def test_silent_changes_are_errors(tmp_path: Path, override: str, message: str) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError, match=message):
        load_config(path, [override])


def test_a_cross_section_error_does_not_dump_the_whole_config(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["training.student_losses=[{name: xent, sources: [debat]}]"])
    assert "models" not in str(info.value) and "Value error" not in str(info.value)


def test_sources_that_exist_and_real_booleans_still_load(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    cfg = load_config(path, [
        "debate.protocols=[none, debate]", "debate.seeds=[0, 1]", "training.ensembles=[single, debate_ensemble]",
        "training.student_losses=[{name: xent, sources: [none, debate, debate/debate_ensemble]}]",
        "debate.swap_positions=true", "training.seeds=[0, 1, 2]", "training.weak.lr=1",
    ])
    assert cfg.debate.swap_positions is True and cfg.training.seeds == [0, 1, 2]
    assert cfg.training.weak.lr == 1.0


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL + "name: u\n",  # a top-level key twice: PyYAML would keep the second
        MINIMAL + "data:\n  test: 10\ndata:\n  weak_train: 5\n",  # a whole section twice
        MINIMAL + "training:\n  weak: {epochs: 1, epochs: 2}\n",  # in a flow mapping
    ],
)
def test_a_key_given_twice_in_yaml_is_an_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"appears twice in one mapping"):
        load_config(write(tmp_path, text))


def test_a_key_given_twice_in_an_override_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"appears twice"):
        load_config(write(tmp_path, MINIMAL), ["training.weak={epochs: 1, epochs: 2}"])


def test_the_cli_says_it_in_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, MINIMAL)
    assert main(["config", str(path), "--set", "training.seeds=[0, 0]"]) == 2
    err = capsys.readouterr().err
    assert "training.seeds" in err and "Traceback" not in err


def test_bool_for_number_walks_unions_lists_and_dicts() -> None:
    from typing import Literal

    from pydantic import PositiveInt

    assert bool_for_number(int, True) and bool_for_number(float, False)
    assert not bool_for_number(int, 1) and not bool_for_number(bool, True) and not bool_for_number(str, True)
    assert bool_for_number(int | None, True) and not bool_for_number(bool | None, True)
    assert bool_for_number(list[int], [0, True]) and not bool_for_number(list[int], [0, 1])
    assert bool_for_number(PositiveInt | Literal["auto"], True) and not bool_for_number(PositiveInt | Literal["auto"], "auto")
    assert bool_for_number(dict[str, float], {"a": True}) and not bool_for_number(dict[str, float], {"a": 0.5})
