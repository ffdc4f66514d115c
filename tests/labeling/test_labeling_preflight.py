"""Every model and judge folder a run or label job needs is checked before its first expensive stage."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from labeling.config import ConfigError, load_config
from labeling.experiment.compare import run_compare
from labeling.experiment.pipeline import run_pipeline
from labeling.experiment.preflight import check_experiment, models_needed
from labeling.cli import main as label_main
from labeling.store import ModelNotFoundError, check_model
from labeling.store.model_check import hub_reachable

REPO = Path(__file__).resolve().parents[2]


def tiny_config(tmp_path: Path, tiny: Path, shared: Path, *extra: str):
    return load_config(REPO / "configs" / "sciq_cpu.yaml", [
        f"output_dir={tmp_path / 'runs'}", f"data.source={shared / 'sciq'}",
        "data.weak_train=8", "data.strong_train=8", "data.test=8",
        f"models.weak.path={tiny}", "models.weak.num_hidden_layers=1",
        f"models.strong.path={tiny}", f"models.debater.path={tiny}", *extra,
    ])


def test_a_missing_strong_model_fails_before_the_weak_floor(tmp_path, tiny_model_dir, shared_data) -> None:
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, f"models.strong.path={tmp_path / 'nope'}")
    with pytest.raises(ConfigError, match=r"models\.strong\.path: model .*nope"):
        run_pipeline(cfg)
    assert not (tmp_path / "runs").exists()  # no splits, no floor, no folder


def test_every_problem_is_listed_at_once_with_its_key(tmp_path, tiny_model_dir, shared_data, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, "models.weak.num_hidden_layers=9",
                      "models.debater.path=someone/not-cached-model")
    with pytest.raises(ConfigError) as info:
        check_experiment(cfg)
    text = str(info.value)
    assert "models.weak.path: model" in text and "has 3 layers; num_hidden_layers: 9" in text
    assert "models.debater.path: model 'someone/not-cached-model' is not in the local Hugging Face cache" in text
    assert "HF_HUB_OFFLINE is set" in text and "models.strong" not in text


def test_the_debater_is_needed_only_when_something_is_debated(tmp_path, tiny_model_dir, shared_data) -> None:
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, "debate.protocols=[none]", "models.debater.path=/nope")
    assert set(models_needed(cfg)) == {"models.weak", "models.strong"}
    check_experiment(cfg)  # no error: the debater is never loaded
    scripted = tiny_config(tmp_path, tiny_model_dir, shared_data, "models.debater.path=/nope")
    assert set(models_needed(scripted, chat_models=False)) == {"models.weak", "models.strong"}  # a test backend debates


def test_compare_checks_every_entry_before_the_first_runs(tmp_path, tiny_model_dir, shared_data) -> None:
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, "compare.datasets=["
                      f"{{dataset: sciq, source: {shared_data / 'sciq'}}}, "
                      f"{{dataset: sciq, source: {shared_data / 'sciq'}, name: other, "
                      f"overrides: ['models.strong.path={tmp_path / 'gone'}']}}]")
    with pytest.raises(ConfigError, match=r"models\.strong\.path: model .*gone"):
        run_compare(cfg)
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_hub_answers_in_seconds_not_a_minute(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def refuse(address, timeout=None):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match=r"hub cannot be reached .*network is unreachable.*download it"):
        check_model("someone/not-cached-model")
    assert time.perf_counter() - start < 5
    assert hub_reachable()[0] is False


def test_a_local_model_resolves_and_a_folder_without_config_is_refused(tmp_path, tiny_model_dir) -> None:
    assert check_model(str(tiny_model_dir), num_hidden_layers=3) == str(tiny_model_dir.resolve())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="has no config.json"):
        check_model(str(tmp_path / "empty"))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backend", "vllm", "--model", "packaged:nosuch"], r"--model: unknown packaged model 'nosuch'"),
        (["--backend", "scripted", "--judge", "{tmp}/no-judge"], r"--judge: .*no-judge"),
        (["--backend", "vllm", "--block-size", "48"], r"block_size: 48 is not a multiple of 32"),
    ],
)
def test_a_label_job_with_a_bad_model_or_judge_leaves_nothing_behind(tmp_path, shared_data, capsys, flags, message) -> None:
    out = tmp_path / "labels"
    argv = ["label", "--input", "sciq:validation", "--source", str(shared_data / "sciq"), "--limit", "3",
            "--seeds", "1", "--out", str(out), *[f.format(tmp=tmp_path) for f in flags]]
    assert label_main(argv) == 2
    err = capsys.readouterr().err
    assert "nothing was started" in err and "Traceback" not in err
    assert __import__("re").search(message, err)
    assert not out.exists()  # no job.json to refuse the corrected rerun


def test_a_kv_block_size_the_cpu_engine_cannot_run_fails_before_anything(tmp_path, tiny_model_dir, shared_data) -> None:
    cfg = tiny_config(tmp_path, tiny_model_dir, shared_data, "debate.engine.block_size=48")
    with pytest.raises(ConfigError, match=r"debate\.engine\.block_size: 48 is not a multiple of 32"):
        run_pipeline(cfg)
    assert not (tmp_path / "runs").exists()
    check_experiment(tiny_config(tmp_path, tiny_model_dir, shared_data, "debate.engine.block_size=32"))
    gpu = tiny_config(tmp_path, tiny_model_dir, shared_data, "debate.engine.block_size=16", "ray.num_gpus_per_actor=1")
    check_experiment(gpu)  # GPU attention backends take 16
    no_debate = tiny_config(tmp_path, tiny_model_dir, shared_data, "debate.engine.block_size=48", "debate.protocols=[none]")
    check_experiment(no_debate)  # no engine is started


def test_the_block_size_reaches_the_engine_only_when_set() -> None:
    from labeling.config import EngineConfig
    from labeling.exec.backends import vllm_backend_spec

    default = vllm_backend_spec("someone/model", EngineConfig(dtype="float32"), 0)
    assert "block_size" not in default.kwargs  # the engine's own default (128 on CPU)
    assert vllm_backend_spec("someone/model", EngineConfig(dtype="float32", block_size=32), 0).kwargs["block_size"] == 32
    with pytest.raises(ValueError, match="not a multiple of 32"):
        vllm_backend_spec("someone/model", EngineConfig(dtype="float32", block_size=16), 0)
