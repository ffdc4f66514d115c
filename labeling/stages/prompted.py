"""The prompted weak judge as a pipeline stage: no fine-tuning, P(correct) from constrained logprobs.

One stage folder per protocol (``prompted-judge-<protocol>-<hash>``) holds the judge's
verdicts on strong_train and test, with the first debate seed's transcripts as context
(``none``: the plain items). Shards run on the same Ray actors as the debates, each actor
holding one vLLM engine of the judge model; a shard's verdicts are written atomically and
never redone, so the stage resumes like the transcript stages. The finished stage writes
``pred_<split>.parquet`` (id, prob) like a trained judge, so label sources, students and
tables treat both judges alike.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from debate import PROMPT_VERSION, PromptedJudge

from labeling.config import ExperimentConfig
from labeling.data.stage import Splits, data_semantic
from labeling.exec.backends import BackendSpec, vllm_backend_spec
from labeling.exec.shards import SHARD_GLOB, ShardKind, ShardTask, plan_shards, read_shards, run_on_ray
from labeling.stages.trained import TrainedModel
from labeling.stages.transcripts import TranscriptSet, debate_engine_dtype
from labeling.store import StageDir, atomic_write_parquet, stage_dir

log = logging.getLogger(__name__)

JUDGED_SPLITS = ("strong_train", "test")
PROMPTED_SHARDS = ShardKind("prompted_judge", "labeling.stages.prompted:run_prompted_shard")


def prompted_backend_spec(cfg: ExperimentConfig) -> BackendSpec:
    """The in-process vLLM backend of the prompted judge's model (the debate engine's settings)."""
    judge = cfg.prompted_judge
    assert judge is not None
    return vllm_backend_spec(judge.model.path, cfg.debate.engine, cfg.ray.num_gpus_per_actor)


def prompted_stage(cfg: ExperimentConfig, protocol: str, transcripts_from: str | None) -> StageDir:
    """The stage folder of the prompted judge on ``protocol``'s transcripts (stage name, or None for none)."""
    judge = cfg.prompted_judge
    assert judge is not None
    semantic = {
        **data_semantic(cfg),
        "protocol": protocol,
        "transcripts": transcripts_from,
        "model": judge.model.model_dump(mode="json"),
        "choices": list(judge.choices),
        "judge_view": cfg.debate.judge_view,
        "dtype": debate_engine_dtype(cfg),
        "prompt_version": PROMPT_VERSION,
    }
    return stage_dir(cfg.output_dir, f"prompted-judge-{protocol}", semantic)


def judged_items(splits: Splits, transcripts: dict[str, str] | None) -> pd.DataFrame:
    """(split, id, text, transcript) of every item the prompted judge scores, in a fixed order."""
    parts = []
    for name in JUDGED_SPLITS:
        frame = splits[name][["id", "text"]].copy()
        frame.insert(0, "split", name)
        ids = frame["id"].astype(str)
        if transcripts is not None and (missing := [i for i in ids if i not in transcripts]):
            raise KeyError(f"{len(missing)} {name} items have no transcript, e.g. {missing[:3]}")
        frame["transcript"] = [transcripts[i] for i in ids] if transcripts is not None else ""
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def run_prompted_shard(backend: Any, task: ShardTask) -> dict[str, Any]:
    """Score one shard of items with the prompted judge and write (split, id, prob) atomically.

    Skips the work when the shard file exists (it is only ever renamed into place complete).
    """
    out_path, n_items = Path(task.out_path), task.n_items
    if out_path.exists():
        return {"shard": out_path.name, "n_items": n_items, "skipped": True}
    items = pd.read_parquet(task.items_path).iloc[task.start : task.stop]
    judge = PromptedJudge(backend, choices=task.params["choices"])
    probs = judge.predict_proba(items["text"].tolist(), items["transcript"].tolist())
    frame = pd.DataFrame({"split": items["split"].tolist(), "id": items["id"].astype(str).tolist(), "prob": probs})
    atomic_write_parquet(frame, out_path)
    log.info("%s: %d items judged", out_path.name, n_items)
    return {"shard": out_path.name, "n_items": n_items, "skipped": False}


def prompted_tasks(folder: Path, n_items: int, shard_size: int, choices: list[str]) -> list[ShardTask]:
    """One prompted-judge task per ``shard_size`` slice of ``folder/items.parquet``."""
    return plan_shards(PROMPTED_SHARDS, folder, n_items, shard_size, {"choices": list(choices)})


def read_verdicts(folder: Path) -> pd.DataFrame:
    """Every (split, id, prob) the shards of ``folder`` hold (none yet: an empty frame)."""
    if not any(folder.glob(SHARD_GLOB)):
        return pd.DataFrame({"split": [], "id": [], "prob": []})
    return read_shards(folder)


def _finish(stage: StageDir, items: pd.DataFrame) -> None:
    frame = read_verdicts(stage.path)
    if len(frame) != len(items) or frame[["split", "id"]].duplicated().any():
        raise RuntimeError(f"{stage.path}: {len(frame)} verdicts for {len(items)} items")
    for name in JUDGED_SPLITS:
        part = frame[frame["split"] == name]
        atomic_write_parquet(part[["id", "prob"]].reset_index(drop=True), stage.path / f"pred_{name}.parquet")
    stage.finish({"items": len(frame)})


def _load(stage: StageDir, splits: Splits) -> dict[str, np.ndarray]:
    predictions = {}
    for name in JUDGED_SPLITS:
        frame = pd.read_parquet(stage.path / f"pred_{name}.parquet").set_index("id")
        predictions[name] = frame.loc[splits[name]["id"].astype(str), "prob"].to_numpy(dtype=np.float64)
    return predictions


def run_prompted_judges(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: dict[tuple[str, int], TranscriptSet],
    backend: BackendSpec | None = None,
) -> dict[str, TrainedModel]:
    """Run (or reuse) the prompted judge on every protocol; returns protocol -> its verdicts.

    Each protocol's judge reads the first debate seed's transcripts. Its ``test_plain``
    verdicts are those of the ``none`` stage (the same judge without a transcript), so the
    tables can show it with and without transcripts like a trained judge.
    ``backend`` replaces the judge model's vLLM engine (tests pass the scripted backend).
    """
    first = cfg.debate.seeds[0]
    planned: list[tuple[str, StageDir, pd.DataFrame]] = []
    tasks: list[dict[str, Any]] = []
    for protocol in cfg.debate.protocols:
        key = (protocol, first)
        source = transcripts[key].stage.path.name if protocol != "none" else None
        stage = prompted_stage(cfg, protocol, source)
        items = judged_items(splits, transcripts[key].texts if protocol != "none" else None)
        planned.append((protocol, stage, items))
        if stage.complete:
            log.info("prompted judge %s: reusing %s", protocol, stage.path)
            continue
        stage.begin()
        if not (stage.path / "items.parquet").exists():
            atomic_write_parquet(items, stage.path / "items.parquet")
        judge_tasks = prompted_tasks(stage.path, len(items), cfg.debate.shard_size, cfg.prompted_judge.choices)
        tasks += [t for t in judge_tasks if not t.done]
    if tasks:
        run_on_ray(tasks, backend or prompted_backend_spec(cfg), cfg.ray, cfg.output_dir)
    judged: dict[str, TrainedModel] = {}
    for protocol, stage, items in planned:
        if not stage.complete:
            _finish(stage, items)
        judged[protocol] = TrainedModel(stage, _load(stage, splits))
        if protocol != "none":  # the failure policy: no label from a failed transcript
            strong_ids = splits["strong_train"]["id"].astype(str).tolist()
            verdicts = judged[protocol].predictions
            verdicts["strong_train"] = transcripts[(protocol, first)].labels_from(strong_ids, verdicts["strong_train"])
    plain_test = judged["none"].predictions["test"]
    for model in judged.values():
        model.predictions["test_plain"] = plain_test
    return judged
