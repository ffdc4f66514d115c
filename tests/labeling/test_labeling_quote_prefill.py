"""``debate.quote_prefill`` reaches the debate runner from ``w2s run`` and ``w2s label``, keyed only when on."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from labeling.config import add_config_args, load_config, load_from_args
from labeling.exec.shards import ShardTask
from labeling.label.backends import scripted_backend
from labeling.label.job import shard_tasks as label_shard_tasks
from labeling.label.job_files import job_semantic
from labeling.label.settings import LABEL_FLAGS, LabelJobConfig
from labeling.stages.debate_shards import DEBATE_SHARDS, run_debate_shard
from labeling.stages.transcripts import shard_tasks, transcript_stage

REPO = Path(__file__).resolve().parents[2]
PASSAGE = "Mitochondria are the powerhouse of the cell. They make ATP from glucose and oxygen."


def experiment(tmp_path: Path, *extra: str):
    """The evidence config with a float32 engine (no precision probe) and no quote pick, writing under ``tmp_path``."""
    return load_config(REPO / "configs" / "evidence_cpu.yaml",
                       [f"output_dir={tmp_path}", "debate.engine.dtype=float32", "debate.quote_pick=false", *extra])


def label_config(*flags: str) -> LabelJobConfig:
    parser = argparse.ArgumentParser()
    add_config_args(parser, LABEL_FLAGS, optional=True)
    args = parser.parse_args(["--input", "items.jsonl", "--out", "o", "--backend", "scripted", *flags])
    return load_from_args(LabelJobConfig, args, LABEL_FLAGS)


def test_the_transcript_stage_key_holds_the_prefill_only_when_on(tmp_path: Path) -> None:
    default = transcript_stage(experiment(tmp_path), "debate", 0)
    off = transcript_stage(experiment(tmp_path, "debate.quote_prefill=false"), "debate", 0)
    on = transcript_stage(experiment(tmp_path, "debate.quote_prefill=true"), "debate", 0)
    assert "quote_prefill" not in default.semantic and off.path == default.path  # old folders keep their hash
    assert on.semantic == {**default.semantic, "quote_prefill": True} and on.path != default.path


def test_shard_params_carry_the_prefill(tmp_path: Path) -> None:
    cfg = experiment(tmp_path, "debate.quote_prefill=true")
    items = pd.DataFrame({"id": ["a", "b"], "question": ["q"] * 2, "answer": ["x"] * 2, "evidence": [PASSAGE] * 2})
    [task] = shard_tasks(transcript_stage(cfg, "debate", 0), items, "debate", 0, cfg)
    assert task.params["quote_prefill"] is True
    [plain] = shard_tasks(transcript_stage(experiment(tmp_path), "debate", 0), items, "debate", 0, experiment(tmp_path))
    assert plain.params["quote_prefill"] is False


def test_label_flag_and_job_semantic() -> None:
    off, on = label_config(), label_config("--quote-prefill")
    assert not off.debate.quote_prefill and on.debate.quote_prefill
    assert "quote_prefill" not in job_semantic(off, "items", None)  # old `w2s label` folders still resume
    assert job_semantic(on, "items", None) == {**job_semantic(off, "items", None), "quote_prefill": True}
    [task] = label_shard_tasks(on, ["a"], 0, None)
    assert task.params["quote_prefill"] is True


def test_the_shard_runner_prefills_turns_of_items_with_a_passage(tmp_path: Path) -> None:
    items = pd.DataFrame({"id": ["p", "n"], "question": ["What makes ATP?"] * 2, "answer": ["mitochondria"] * 2,
                          "evidence": [PASSAGE, ""]})
    items.to_parquet(tmp_path / "items.parquet")
    params = {"protocol": "single_critique", "seed": 0, "word_limit": 20, "quote_prefill": True,
              "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 16}}
    task = ShardTask(DEBATE_SHARDS, str(tmp_path / "items.parquet"), 0, 2, str(tmp_path / "shard-00000.parquet"), params)
    run_debate_shard(scripted_backend(quote_words=4), task)
    frame = pd.read_parquet(task.out_path)
    with_passage, without = frame["turns"]
    assert all(t["text"].startswith("<v_quote>Mitochondria are the powerhouse</v_quote> ") for t in with_passage)
    assert all(t["verified_words"] == 4 for t in with_passage)
    assert all("quote" not in t["text"] and t["quotes"] == 0 for t in without)


def test_quote_pick_is_keyed_only_when_on_and_reaches_the_shards(tmp_path: Path) -> None:
    default = transcript_stage(experiment(tmp_path), "debate", 0)
    on = transcript_stage(experiment(tmp_path, "debate.quote_pick=true"), "debate", 0)
    assert "quote_pick" not in default.semantic
    assert on.semantic == {**default.semantic, "quote_pick": True} and on.path != default.path
    items = pd.DataFrame({"id": ["a"], "question": ["q"], "answer": ["x"], "evidence": [PASSAGE]})
    [task] = shard_tasks(on, items, "debate", 0, experiment(tmp_path, "debate.quote_pick=true"))
    assert task.params["quote_pick"] is True
    off, picked = label_config(), label_config("--quote-pick")
    assert "quote_pick" not in job_semantic(off, "items", None)
    assert job_semantic(picked, "items", None) == {**job_semantic(off, "items", None), "quote_pick": True}
    assert label_shard_tasks(picked, ["a"], 0, None)[0].params["quote_pick"] is True


def test_the_shard_runner_opens_turns_with_a_picked_passage_sentence(tmp_path: Path) -> None:
    items = pd.DataFrame({"id": ["p", "n"], "question": ["What makes ATP?"] * 2, "answer": ["mitochondria"] * 2,
                          "evidence": [PASSAGE, ""]})
    items.to_parquet(tmp_path / "items.parquet")
    params = {"protocol": "single_critique", "seed": 0, "word_limit": 20, "quote_pick": True,
              "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 16}}
    task = ShardTask(DEBATE_SHARDS, str(tmp_path / "items.parquet"), 0, 2, str(tmp_path / "shard-00000.parquet"), params)
    run_debate_shard(scripted_backend(), task)
    with_passage, without = pd.read_parquet(task.out_path)["turns"]
    sentences = ("Mitochondria are the powerhouse of the cell.", "They make ATP from glucose and oxygen.")
    assert all(t["text"].startswith(tuple(f"<v_quote>{s}</v_quote>" for s in sentences)) for t in with_passage)
    assert all(t["verified_quotes"] >= 1 for t in with_passage)
    assert all("quote" not in t["text"] and t["quotes"] == 0 for t in without)
