"""Data-parallel training through Ray Train: 2 CPU workers (gloo) against one process with the same global batch.

The tolerance: every step's loss within 1e-4 (absolute) of the single process's, and predictions after
reload within 1e-4. Both differ only in the order of floating-point sums (gradients are summed over
two processes instead of inside one); both train in fp32 so that bf16 rounding does not hide a real
difference. logconf's batch statistics are gathered over the whole micro-batch, so it matches too.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from training import ModelSpec, TrainConfig, predict_proba, train_classifier

from labeling.exec.ray_train import train_data_parallel

TOLERANCE = 1e-4
WORDS = "the a movie film book food was is really quite very it this that plot actors story".split()


def keyword_task(n: int, seed: int) -> tuple[list[str], list[float]]:
    """Filler sentences with "good" (label 1) or "bad" (label 0) somewhere; soft labels 0.2 / 0.8 sometimes."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 9))]
        positive = rng.random() < 0.5
        words.insert(rng.randint(0, len(words)), "good" if positive else "bad")
        texts.append(" ".join(words))
        labels.append((0.8 if rng.random() < 0.3 else 1.0) if positive else 0.0)
    return texts, labels


# 25 examples in batches of 8: the last micro-batch of each epoch is odd-sized (1 example), so one worker gets none
BASE = TrainConfig(epochs=2, lr=3e-3, batch_size=8, warmup_ratio=0.1, seed=3, bf16=False, threads=1, device="cpu")


def losses(folder: Path) -> list[float]:
    return json.loads((folder / "train_log.json").read_text())["loss_per_step"]


@pytest.mark.parametrize("loss", ["xent", "logconf"])
def test_two_gloo_workers_match_one_process(tiny_model_dir, tmp_path, ray_session, loss) -> None:
    texts, labels = keyword_task(25, seed=0)
    cfg = replace(BASE, loss=loss, grad_accum=2 if loss == "logconf" else 1)
    spec = ModelSpec(str(tiny_model_dir))
    alone = train_classifier(spec, texts, labels, cfg, tmp_path / "alone", desc="one process")
    shared = train_data_parallel(spec, texts, labels, cfg, tmp_path / "ddp", workers=2, desc="two workers")

    one, two = losses(alone), losses(shared)
    assert len(one) == len(two) > 3
    assert max(abs(a - b) for a, b in zip(one, two)) < TOLERANCE
    assert json.loads((shared / "train_log.json").read_text())["data_parallel_processes"] == 2
    held_out, _ = keyword_task(16, seed=1)
    p_one = predict_proba(alone, held_out, bf16=False)
    p_two = predict_proba(shared, held_out, bf16=False)
    assert np.max(np.abs(p_one - p_two)) < TOLERANCE
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp folder left by any worker


def test_logconf_at_full_strength_from_the_first_step_matches_too(tiny_model_dir, tmp_path, ray_session) -> None:
    """logconf with no warm-up (its hardened targets weigh 0.75 from step one), one micro-batch of 16 per step.

    Per-worker statistics would threshold each worker's 8 predictions against its own 8 weak labels;
    gathered, both workers use the whole batch's, as one process does, so the curves still agree.
    """
    texts, labels = keyword_task(16, seed=2)
    cfg = replace(BASE, loss="logconf", loss_params={"aux_coef": 0.75, "warmup_frac": 0.0}, batch_size=16, epochs=3)
    spec = ModelSpec(str(tiny_model_dir))
    alone = train_classifier(spec, texts, labels, cfg, tmp_path / "alone")
    shared = train_data_parallel(spec, texts, labels, cfg, tmp_path / "ddp", workers=2)
    assert max(abs(a - b) for a, b in zip(losses(alone), losses(shared))) < TOLERANCE


def test_head_only_training_is_refused_data_parallel(tiny_model_dir, tmp_path, ray_session) -> None:
    texts, labels = keyword_task(8, seed=0)
    with pytest.raises(Exception, match="data-parallel training needs trainable: all"):
        train_data_parallel(ModelSpec(str(tiny_model_dir)), texts, labels, replace(BASE, trainable="head"),
                            tmp_path / "head", workers=2)
    assert not (tmp_path / "head").exists()


def test_a_pipeline_trains_its_strong_models_data_parallel_with_the_same_results(tmp_path, tiny_model_dir, shared_data,
                                                                                  ray_session) -> None:
    """``training.strong.data_parallel: 2`` with the Ray executor: ceilings and students train on two Ray Train
    workers each (their launching tasks ask for no CPU), and every prediction matches the one-process run's."""
    from test_labeling_pipeline import SCRIPTED, tiny_config
    from test_labeling_train_executors import predictions

    from labeling.experiment.pipeline import run_pipeline

    common = ["training.executor=ray", "training.job_cpus=1", "training.threads=1", "training.dtype=float32"]
    alone = tiny_config(tmp_path / "alone", tiny_model_dir, shared_data, *common)
    shared = tiny_config(tmp_path / "ddp", tiny_model_dir, shared_data, *common, "training.strong.data_parallel=2")
    run_pipeline(alone, backend=SCRIPTED)
    run_pipeline(shared, backend=SCRIPTED)
    one, two = predictions(alone), predictions(shared)
    assert one and set(one) == set(two)  # data_parallel is not part of any stage key
    for name, probs in one.items():
        np.testing.assert_allclose(two[name].loc[probs.index], probs, atol=TOLERANCE, err_msg=name)
    logs = {p.parent.parent.name.split("-")[0]: json.loads(p.read_text())["data_parallel_processes"]
            for p in (Path(shared.output_dir) / "artifacts").glob("*/model/train_log.json")}
    assert logs["ceiling"] == logs["student"] == 2 and logs["weak"] == logs["judge"] == 1


def test_data_parallel_needs_the_ray_executor(tmp_path, tiny_model_dir, shared_data) -> None:
    from test_labeling_pipeline import tiny_config

    from labeling.config import ConfigError

    with pytest.raises(ConfigError, match="training.strong.data_parallel > 1 needs training.executor: ray"):
        tiny_config(tmp_path, tiny_model_dir, shared_data, "training.strong.data_parallel=2")
    with pytest.raises(ConfigError, match="data_parallel must be >= 1, and 1 with trainable: head"):
        tiny_config(tmp_path, tiny_model_dir, shared_data, "training.executor=ray", "training.weak.trainable=head",
                    "training.weak.data_parallel=2")


def test_fsdp_shards_the_model_and_matches_one_process(tiny_model_dir, tmp_path, ray_session) -> None:
    """FSDP2 over 2 gloo workers: each keeps half of the weights, gradients and AdamW moments; the gathered
    checkpoint is an ordinary full model, and the losses and predictions match one process."""
    texts, labels = keyword_task(25, seed=0)
    cfg = replace(BASE, loss="logconf", data_parallel_strategy="fsdp")
    spec = ModelSpec(str(tiny_model_dir))
    alone = train_classifier(spec, texts, labels, replace(cfg, data_parallel_strategy="ddp"), tmp_path / "alone")
    sharded = train_data_parallel(spec, texts, labels, cfg, tmp_path / "fsdp", workers=2)
    assert max(abs(a - b) for a, b in zip(losses(alone), losses(sharded))) < TOLERANCE
    held_out, _ = keyword_task(16, seed=1)
    assert np.max(np.abs(predict_proba(alone, held_out, bf16=False) - predict_proba(sharded, held_out, bf16=False))) < TOLERANCE
    with pytest.raises(ValueError, match="data_parallel_strategy must be 'ddp' or 'fsdp'"):
        TrainConfig(data_parallel=2, data_parallel_strategy="fsdp", lora={"r": 4})
