"""``w2s label`` and the shard runner: provenance, weak picks, swaps, judge labels, failures, reruns."""

from __future__ import annotations

import json
from dataclasses import replace
import math
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from debate import ScriptedBackend
from labeling.label.job import main as label_main
from labeling.label.job_files import load_items, read_weak_picks
from labeling.label.settings import LabelInput
from labeling.label.summary import failure_kind
from labeling.exec.shards import ShardTask
from labeling.stages.debate_shards import DEBATE_SHARDS, backend_provenance, run_debate_shard as run_shard, timings_path, tool_version

N_ITEMS = 6


def write_items(path: Path, n: int = N_ITEMS, fail_index: int | None = None) -> Path:
    rows = [
        {"id": f"i{k}", "question": f"What do plants need number {k}?" + (" BROKEN" if k == fail_index else ""),
         "answer": "light" if k % 2 else "salt"}
        for k in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def shard_task(tmp_path: Path, protocol: str = "debate", **extra) -> ShardTask:
    items = pd.DataFrame({"id": [f"i{k}" for k in range(4)], "question": ["Q?"] * 4, "answer": ["A"] * 4})
    items_path = tmp_path / "items.parquet"
    items.to_parquet(items_path)
    out_path = str(tmp_path / extra.pop("name", "shard-00000.parquet"))
    params = {"protocol": protocol, "seed": 3, "sampling": {"temperature": 0.7, "top_p": 0.95, "max_tokens": 16},
              "word_limit": 25, **extra}
    return ShardTask(DEBATE_SHARDS, str(items_path), 1, 4, out_path, params)


def test_run_shard_records_provenance_and_keeps_clock_out_of_the_shard(tmp_path) -> None:
    task = shard_task(tmp_path)
    summary = run_shard(ScriptedBackend(), task)
    frame = pd.read_parquet(task.out_path)
    assert frame["item_id"].tolist() == ["i1", "i2", "i3"]
    assert (frame["word_limit"] == 25).all() and (frame["seed"] == 3).all()
    assert set(frame["tool_version"]) == {tool_version()} and tool_version() != "unknown"
    assert set(frame["backend"]) == {"debate.backends.scripted.ScriptedBackend"}
    assert frame["vllm_version"].isna().all() and frame["weak_pick"].isna().all()
    assert all(math.isnan(t["seconds"]) for turns in frame["turns"] for t in turns)
    timings = json.loads(timings_path(Path(task.out_path)).read_text())
    assert len(timings["round_seconds"]) == 3 and set(timings["turn_seconds"]) == {"i1", "i2", "i3"}
    assert summary["n_items"] == 3 and summary["completion_tokens"] > 0 and summary["failed"] == 0
    again = run_shard(ScriptedBackend(), replace(task, out_path=str(tmp_path / "again.parquet")))
    assert not again["skipped"]
    assert (tmp_path / "again.parquet").read_bytes() == Path(task.out_path).read_bytes()
    assert run_shard(ScriptedBackend(reply=lambda r: 1 / 0), task)["skipped"]  # finished shards are never redone


def test_run_shard_passes_swap_and_weak_picks(tmp_path) -> None:
    plain = run_shard(ScriptedBackend(), shard_task(tmp_path, name="plain.parquet"))
    swapped = run_shard(ScriptedBackend(), shard_task(tmp_path, name="swapped.parquet", swap_positions=True))
    assert not plain["skipped"] and not swapped["skipped"]
    a = pd.read_parquet(tmp_path / "plain.parquet")
    b = pd.read_parquet(tmp_path / "swapped.parquet")
    assert b["swapped"].all() and not a["swapped"].any()
    for sa, sb in zip(a["stances"], b["stances"]):
        assert [s["stance"] for s in sa] == [s["stance"] for s in reversed(list(sb))]
    picks = {"i1": 1, "i2": 0, "i3": 1}
    task = shard_task(tmp_path, protocol="market_making", name="mm.parquet", weak_picks=picks)
    run_shard(ScriptedBackend(), task)
    mm = pd.read_parquet(tmp_path / "mm.parquet")
    assert mm["weak_pick"].tolist() == [1, 0, 1]
    assert [s[0]["stance"] for s in mm["stances"]] == ["incorrect", "correct", "incorrect"]
    with pytest.raises(ValueError, match="weak_picks"):
        run_shard(ScriptedBackend(), shard_task(tmp_path, protocol="market_making", name="none.parquet"))


def test_backend_provenance_names_vllm_version_and_hub_revision(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(__version__="9.9.9"))
    VLLMChatBackend = type("VLLMChatBackend", (), {})
    backend = VLLMChatBackend()
    backend.model_id = "/cache/models--org--m/snapshots/" + "ab" * 20 + "/"
    info = backend_provenance(backend)
    assert info["vllm_version"] == "9.9.9" and info["model_revision"] == "ab" * 20
    assert backend_provenance(ScriptedBackend())["vllm_version"] is None


def test_items_from_registry_and_bad_specs(shared_data, tmp_path) -> None:
    frame, dataset = load_items(LabelInput(spec="sciq:validation", source=str(shared_data / "sciq"), limit=5))
    assert dataset == "sciq" and len(frame) == 5 and frame["id"].is_unique
    frame, dataset = load_items(LabelInput(spec=str(write_items(tmp_path / "x.jsonl"))))
    assert dataset == "items" and frame["id"].tolist() == [f"i{k}" for k in range(N_ITEMS)]
    with pytest.raises(ValueError, match="registry spec"):
        load_items(LabelInput(spec="nope:validation"))


def test_failure_kind() -> None:
    assert failure_kind("turn 1: http_400: bad request") == "http_400"
    assert failure_kind("retries_exhausted: timeout: x (6 attempts)") == "retries_exhausted"


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory, tiny_model_dir) -> Path:
    """A judge stage folder: the tiny random model as a classifier, stage.json naming sciq."""
    import torch

    from training import ModelSpec, load_classifier

    folder = tmp_path_factory.mktemp("judges") / "judge-debate-s0-0123abcd"
    torch.manual_seed(0)
    model, tokenizer = load_classifier(ModelSpec(str(tiny_model_dir)))
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    (folder / "stage.json").write_text(json.dumps({"data": {"dataset": "sciq"}, "train": {"max_length": 128}, "dtype": "float32"}))
    return folder


def label_argv(items: Path, out: Path, judge: Path, seeds: int = 2) -> list[str]:
    return ["label", "--input", str(items), "--seeds", str(seeds), "--shard-size", "4", "--out", str(out),
            "--judge", str(judge), "--backend", "scripted", "--set", "backend.kwargs=" + json.dumps({"fail_marker": "BROKEN"})]


def test_label_job_end_to_end_with_failures_and_rerun(tmp_path, tiny_judge, ray_session, monkeypatch) -> None:
    from debate import Transcript
    from labeling.data.registry import item_text
    from labeling.data.judge_input import judge_text
    from training import predict_proba

    items = write_items(tmp_path / "items.jsonl", fail_index=2)
    out = tmp_path / "out"
    assert label_main(label_argv(items, out, tiny_judge)) == 0
    assert len(list(out.glob("transcripts/seed*/shard-*.parquet"))) == 4
    seed1 = pd.read_parquet(out / "labels" / "seed1.parquet")
    assert seed1["id"].tolist() == [f"i{k}" for k in range(N_ITEMS)]
    assert seed1.loc[2, "prob"] != seed1.loc[2, "prob"] and "scripted_failure" in seed1.loc[2, "failed"]
    assert seed1.drop(index=2)["prob"].between(0, 1).all() and seed1.drop(index=2)["failed"].isna().all()

    transcripts = pd.concat([pd.read_parquet(p) for p in sorted(out.glob("transcripts/seed1/shard-*.parquet"))])
    rows = pd.read_json(items, lines=True)
    texts = [judge_text(item_text("sciq", q, a), Transcript.from_record(r).render())
             for q, a, r in zip(rows["question"], rows["answer"], transcripts.to_dict("records"))]
    expected = predict_proba(tiny_judge / "model", texts, max_length=128, bf16=False, device="cpu")
    ok = [k for k in range(N_ITEMS) if k != 2]
    assert seed1.loc[ok, "prob"].tolist() == pytest.approx(expected[ok].tolist(), abs=1e-6)

    seed0 = pd.read_parquet(out / "labels" / "seed0.parquet")
    ensemble = pd.read_parquet(out / "labels" / "ensemble.parquet")
    assert ensemble.loc[ok, "prob"].tolist() == pytest.approx(((seed0["prob"] + seed1["prob"]) / 2)[ok].tolist())
    assert ensemble.loc[2, "n_seeds"] == 0 and ensemble.loc[2, "prob"] != ensemble.loc[2, "prob"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["transcripts"] == 2 * N_ITEMS and summary["totals"]["failed"] == 2
    assert summary["failure_kinds"] == {"scripted_failure": 2} and summary["labels"]["ensemble"]["null"] == 1

    import datasets  # the folder loads as a dataset, with a card (issue 15)

    published = datasets.load_dataset("parquet", data_dir=str(out / "dataset"), split="train").to_pandas()
    assert published.columns.tolist() == ["id", "seed", "question", "answer", "transcript", "failed", "judge_prob"]
    assert len(published) == 2 * N_ITEMS and published["id"].tolist() == [f"i{k}" for k in range(N_ITEMS)] * 2
    in_seed1 = published[published["seed"] == 1].reset_index(drop=True)
    assert in_seed1["judge_prob"].tolist()[:2] == pytest.approx(seed1["prob"].tolist()[:2])
    assert pd.isna(in_seed1.loc[2, "transcript"]) and "scripted_failure" in in_seed1.loc[2, "failed"]
    assert in_seed1["question"].tolist() == rows["question"].tolist()
    assert in_seed1.loc[0, "transcript"] == Transcript.from_record(transcripts.to_dict("records")[0]).render()
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: unknown\n") and "data_files: dataset/labels.parquet" in card
    assert "`judge_prob`" in card and "the user's own file" in card

    import labeling.label.judge_labels as training  # where the labeler looks predict_proba up

    def refuse(*args, **kwargs):
        raise AssertionError("a finished label file was computed again")

    monkeypatch.setattr(training, "predict_proba", refuse)
    before = {p: p.read_bytes() for p in out.rglob("*.parquet")}
    assert label_main(label_argv(items, out, tiny_judge)) == 0
    assert {p: p.read_bytes() for p in out.rglob("*.parquet")} == before
    assert json.loads((out / "summary.json").read_text())["this_run"]["shards_run"] == 0


def test_rerun_with_other_settings_is_refused(tmp_path, tiny_judge, ray_session) -> None:
    items = write_items(tmp_path / "items.jsonl")
    out = tmp_path / "out"
    assert label_main(label_argv(items, out, tiny_judge, seeds=1)) == 0
    with pytest.raises(ValueError, match="word_limit"):
        label_main([*label_argv(items, out, tiny_judge, seeds=1), "--word-limit", "10"])
    write_items(items, n=N_ITEMS + 1)
    with pytest.raises(ValueError, match="other items"):
        label_main(label_argv(items, out, tiny_judge, seeds=1))


def test_weak_picks_from_probabilities_or_picks(tmp_path) -> None:
    path = tmp_path / "pred.parquet"
    pd.DataFrame({"id": ["a", "b", "c"], "prob": [0.9, 0.2, 0.5]}).to_parquet(path)
    assert read_weak_picks(str(path), ["c", "a"]) == {"c": 1, "a": 1}
    assert read_weak_picks(str(path), ["b"]) == {"b": 0}
    with pytest.raises(ValueError, match="no weak pick"):
        read_weak_picks(str(path), ["a", "zzz"])
    jsonl = tmp_path / "picks.jsonl"
    jsonl.write_text('{"id": "a", "pick": 0}\n')
    assert read_weak_picks(str(jsonl), ["a"]) == {"a": 0}
