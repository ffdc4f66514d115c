"""Config loading: unknown keys and wrong types name their path; overrides win; shipped configs validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.config import ConfigError, apply_overrides, config_hash, load_config

REPO = Path(__file__).resolve().parents[2]

MINIMAL = """
name: t
models:
  weak: {path: a/b, num_hidden_layers: 2}
  strong: {path: a/c}
  debater: {path: a/d}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(REPO / "configs" / name)
    assert cfg.name
    assert "none" in cfg.debate.protocols


def test_unknown_key_names_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "training:\n  weak: {epochz: 3}\n")
    with pytest.raises(ConfigError, match=r"training\.weak\.epochz: unknown key"):
        load_config(path)


def test_wrong_type_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.test: .*got 'many'"):
        load_config(write(tmp_path, MINIMAL), ["data.test=many"])


def test_overrides_win_and_parse_yaml_values(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, MINIMAL),
        ["data.test=7", "debate.seeds=[0, 1, 2]", "models.weak.num_hidden_layers=3", "training.dtype=float32"],
    )
    assert cfg.data.test == 7
    assert cfg.debate.seeds == [0, 1, 2]
    assert cfg.models.weak.num_hidden_layers == 3
    assert cfg.training.dtype == "float32"


def test_override_without_equals_is_an_error() -> None:
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_overrides({}, ["data.test"])


def test_override_into_a_scalar_is_an_error() -> None:
    with pytest.raises(ConfigError, match="name is not a section"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_protocols_must_include_the_baseline(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="debate.protocols"):
        load_config(write(tmp_path, MINIMAL), ["debate.protocols=[debate]"])


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "name: [unclosed"))


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path, MINIMAL + "output_dir: out\ndata: {source: ./data/sciq}\n"))
    assert cfg.output_dir == str(tmp_path / "out")
    assert cfg.data.source == str(tmp_path / "data" / "sciq")


def test_config_hash_is_stable_and_sensitive() -> None:
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_ensemble_protocols_limit_seeds_and_label_sources(tmp_path: Path) -> None:
    from labeling.experiment.pipeline import LabelSource, label_sources

    text = MINIMAL + (
        "debate: {protocols: [none, debate, consultancy], seeds: [0, 1, 2], ensemble_protocols: [debate]}\n"
        "training: {ensembles: [single, debate_ensemble, finetune_ensemble]}\n"
    )
    cfg = load_config(write(tmp_path, text))
    assert cfg.debate.seeds_for("debate") == [0, 1, 2]
    assert cfg.debate.seeds_for("consultancy") == [0]
    assert label_sources(cfg) == [
        LabelSource("none", "single"),
        LabelSource("debate", "single"),
        LabelSource("debate", "debate_ensemble"),
        LabelSource("debate", "finetune_ensemble"),
        LabelSource("consultancy", "single"),
    ]


def test_ensemble_protocols_must_be_configured_protocols(tmp_path: Path) -> None:
    text = MINIMAL + "debate: {protocols: [none, debate], ensemble_protocols: [consultancy]}\n"
    with pytest.raises(ConfigError, match=r"ensemble_protocols \['consultancy'\] are not in protocols"):
        load_config(write(tmp_path, text))


def test_loss_sources_pick_label_sources() -> None:
    from labeling.config import LossSpec

    everywhere = LossSpec(name="xent")
    some = LossSpec(name="logconf", sources=["none", "debate/debate_ensemble"])
    assert everywhere.applies_to("consultancy", "single")
    assert some.applies_to("none", "single") and some.applies_to("debate", "debate_ensemble")
    assert not some.applies_to("debate", "single") and not some.applies_to("none", "finetune_ensemble")
    assert some.label == "logconf"  # the sources do not rename the method in tables


def test_machine_settings_default_to_auto_and_bf16_names_its_replacement(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL))
    assert (cfg.training.dtype, cfg.training.threads, cfg.training.workers) == ("auto", "auto", "auto")
    assert cfg.debate.engine.dtype == "auto"
    cfg = load_config(write(tmp_path, MINIMAL), ["training.threads=2", "training.workers=1", "debate.engine.dtype=float32"])
    assert (cfg.training.threads, cfg.training.workers, cfg.debate.engine.dtype) == (2, 1, "float32")
    with pytest.raises(ConfigError, match="training.dtype"):
        load_config(write(tmp_path, MINIMAL), ["training.bf16=true"])
    for bad in ("training.threads=0", "training.workers=many", "training.dtype=fp16", "debate.engine.dtype=int8"):
        with pytest.raises(ConfigError, match=bad.split("=")[0].replace(".", r"\.")):
            load_config(write(tmp_path, MINIMAL), [bad])


def test_lora_settings_are_strict_and_reach_the_training_config(tmp_path: Path) -> None:
    from training import LoraSettings

    path = write(tmp_path, MINIMAL + "training:\n  strong: {lora: {r: 4, target_modules: [q_proj, v_proj]}}\n")
    cfg = load_config(path)
    library = cfg.training.strong.to_library(seed=0, threads=1, bf16=False)
    assert library.lora == LoraSettings(r=4, target_modules=("q_proj", "v_proj"))
    assert cfg.training.weak.to_library(seed=0, threads=1, bf16=False).lora is None
    with pytest.raises(ConfigError, match=r"training\.strong\.lora\.rank: unknown key"):
        load_config(write(tmp_path, MINIMAL + "training:\n  strong: {lora: {rank: 4}}\n"))
    with pytest.raises(ConfigError, match=r"training\.strong.*lora must be unset with trainable: head"):
        load_config(write(tmp_path, MINIMAL + "training:\n  strong: {trainable: head, lora: {r: 4}}\n"))


def test_how_a_model_is_saved_is_not_part_of_its_stage_key(tmp_path: Path) -> None:
    from labeling.stages.stage_keys import LATER_TRAIN_DEFAULTS, UNKEYED_TRAIN_SETTINGS
    from labeling.store import without_later_defaults

    def key(extra: str) -> dict:
        settings = load_config(write(tmp_path, MINIMAL + extra)).training.strong
        return without_later_defaults(settings.model_dump(mode="json", exclude=set(UNKEYED_TRAIN_SETTINGS)),
                                      LATER_TRAIN_DEFAULTS)

    default = key("")
    assert "lora" not in default and "checkpoint" not in default and "gradient_checkpointing" not in default
    assert key("training:\n  strong: {checkpoint: full}\n") == default
    assert key("training:\n  strong: {lora: {r: 4}}\n")["lora"]["r"] == 4
