"""``w2s label`` and ``serve-judge`` load one configuration model: YAML, then shorthand flags, then ``--set``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from debate import SamplingConfig
from training import TrainConfig

from labeling.config import ConfigError, SamplingSettings, TrainSettings, add_config_args, load_from_args
from labeling.label.settings import LABEL_FLAGS, LabelJobConfig
from labeling.serve.config import SERVE_FLAGS, ServeConfig
from labeling.serve.settings import ServerSettings

REPO = Path(__file__).resolve().parents[2]


def parse(flags: tuple, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_config_args(parser, flags, optional=True)
    return parser.parse_args(argv)


def test_label_flags_are_shorthands_for_config_keys() -> None:
    args = parse(LABEL_FLAGS, ["--input", "sciq:validation", "--out", "o", "--temperature", "0.3", "--seeds", "3",
                               "--swap-positions", "--prompted-judge", "m", "--num-cpus-per-actor", "auto"])
    cfg = load_from_args(LabelJobConfig, args, LABEL_FLAGS)
    assert cfg.input.spec == "sciq:validation" and cfg.out == str(Path("o").resolve()) and cfg.debate.seeds == 3
    assert cfg.debate.sampling.temperature == 0.3 and cfg.debate.swap_positions
    assert cfg.prompted_judge.model.path == "m" and cfg.ray.num_cpus_per_actor == "auto"
    assert cfg.debate.sampling.top_p == SamplingConfig().top_p  # the library's default


def test_file_then_flags_then_set(tmp_path: Path) -> None:
    path = tmp_path / "label.yaml"
    path.write_text("out: from-file\ninput: {spec: items.jsonl}\ndebate: {word_limit: 10, sampling: {max_tokens: 7}}\n")
    args = parse(LABEL_FLAGS, [str(path), "--word-limit", "20", "--set", "debate.word_limit=30", "--max-tokens", "9"])
    cfg = load_from_args(LabelJobConfig, args, LABEL_FLAGS)
    assert Path(cfg.out).is_absolute() and Path(cfg.out).name == "from-file" and cfg.debate.word_limit == 30 and cfg.debate.sampling.max_tokens == 9


def test_label_errors_name_the_key_and_its_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"input: required \(flags: --input, --source"):
        load_from_args(LabelJobConfig, parse(LABEL_FLAGS, ["--out", "o"]), LABEL_FLAGS)
    with pytest.raises(ConfigError, match=r"input\.spec \(--input\): required"):
        load_from_args(LabelJobConfig, parse(LABEL_FLAGS, ["--out", "o", "--source", "s"]), LABEL_FLAGS)
    with pytest.raises(ConfigError, match=r"debate\.bogus: unknown key"):
        load_from_args(LabelJobConfig, parse(LABEL_FLAGS, ["--input", "x", "--out", "o", "--set", "debate.bogus=1"]),
                       LABEL_FLAGS)
    with pytest.raises(ConfigError, match="top_p"):
        load_from_args(LabelJobConfig, parse(LABEL_FLAGS, ["--input", "x", "--out", "o", "--top-p", "1.5"]), LABEL_FLAGS)
    with pytest.raises(ConfigError, match="unknown protocol"):
        load_from_args(LabelJobConfig, parse(LABEL_FLAGS, ["--input", "x", "--out", "o", "--set", "debate.protocol=none"]),
                       LABEL_FLAGS)


def test_serve_config_from_flags_and_its_limits_come_from_server_settings() -> None:
    args = parse(SERVE_FLAGS, ["--judge", "runs/x", "--max-batch", "4", "--classify-url", "http://a", "--classify-url",
                               "http://b", "--port", "9000"])
    cfg = load_from_args(ServeConfig, args, SERVE_FLAGS)
    assert cfg.judge.classify_urls == ["http://a", "http://b"] and cfg.http.port == 9000
    settings = cfg.limits.to_library(threads=2)
    assert isinstance(settings, ServerSettings) and settings.max_batch == 4
    assert settings.max_items == ServerSettings().max_items and settings.threads == 2


def test_serve_config_refuses_contradictions() -> None:
    with pytest.raises(ConfigError, match="url or its model_path"):
        load_from_args(ServeConfig, parse(SERVE_FLAGS, ["--judge", "j", "--debater-url", "http://x", "--debater-model",
                                                        "m", "--debater-model-path", "p"]), SERVE_FLAGS)
    with pytest.raises(ConfigError, match="judges only"):
        load_from_args(ServeConfig, parse(SERVE_FLAGS, ["--judge", "j", "--ray-serve-replicas", "2", "--debater-url",
                                                        "http://x", "--debater-model", "m"]), SERVE_FLAGS)
    with pytest.raises(ConfigError, match="threshold"):
        load_from_args(ServeConfig, parse(SERVE_FLAGS, ["--judge", "j", "--set", "limits.threshold=2"]), SERVE_FLAGS)


def test_derived_sections_own_no_defaults_of_their_own() -> None:
    """Every key of a derived section has its library dataclass's default, and validation runs its checks."""
    assert SamplingSettings().to_library() == SamplingConfig()
    trained = TrainSettings().to_library(seed=0, threads=1, bf16=False)
    assert trained == TrainConfig(seed=0, threads=1, bf16=False)
    with pytest.raises(ValueError, match="epochs must be > 0"):
        TrainSettings(epochs=0)
    with pytest.raises(ValueError, match="unknown loss"):
        TrainSettings(loss="nope")


@pytest.mark.parametrize("model, path", [(LabelJobConfig, "configs/label/sciq_debate_cpu.yaml"),
                                         (ServeConfig, "configs/serve/judge_local.yaml")])
def test_shipped_application_configs_validate(model: type, path: str) -> None:
    args = parse(LABEL_FLAGS if model is LabelJobConfig else SERVE_FLAGS, [str(REPO / path)])
    assert load_from_args(model, args, LABEL_FLAGS if model is LabelJobConfig else SERVE_FLAGS)
