"""``w2s label --prompted-judge``: prompted verdicts per seed and their ensemble, failures null, reruns free."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labeling.label.job import main as label_main

from test_labeling_label_job import N_ITEMS, label_argv, tiny_judge, write_items  # noqa: F401 (fixture)


def test_prompted_labels_match_the_judge_and_skip_failed_transcripts(tmp_path, tiny_judge, ray_session) -> None:
    from debate import PromptedJudge, Transcript
    from debate.backends.scripted import ScriptedBackend
    from labeling.data.registry import item_text

    items = write_items(tmp_path / "items.jsonl", fail_index=1)
    out = tmp_path / "out"
    argv = [*label_argv(items, out, tiny_judge), "--prompted-judge", "scripted-judge"]
    assert label_main(argv) == 0

    rows = pd.read_json(items, lines=True)
    judge = PromptedJudge(ScriptedBackend())
    per_seed = {}
    for seed in (0, 1):
        labels = pd.read_parquet(out / "labels" / f"prompted_seed{seed}.parquet")
        assert labels["id"].tolist() == [f"i{k}" for k in range(N_ITEMS)]
        assert labels.loc[1, "prob"] != labels.loc[1, "prob"] and "scripted_failure" in labels.loc[1, "failed"]
        transcripts = pd.concat(pd.read_parquet(p) for p in sorted(out.glob(f"transcripts/seed{seed}/shard-*.parquet")))
        ok = [k for k in range(N_ITEMS) if k != 1]
        records = transcripts.to_dict("records")
        texts = [item_text("items", rows["question"][k], rows["answer"][k]) for k in ok]
        expected = judge.predict_proba(texts, [Transcript.from_record(records[k]).render() for k in ok])
        assert labels.loc[ok, "prob"].tolist() == pytest.approx(expected)
        per_seed[seed] = labels
    ensemble = pd.read_parquet(out / "labels" / "prompted_ensemble.parquet")
    mean = (per_seed[0]["prob"] + per_seed[1]["prob"]) / 2
    assert ensemble.drop(index=1)["prob"].tolist() == pytest.approx(mean.drop(index=1).tolist())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["prompted_labels"]["ensemble"] == {"labeled": N_ITEMS - 1, "null": 1}

    before = {p: p.read_bytes() for p in out.rglob("*.parquet")}
    assert label_main(argv) == 0  # every shard is done: nothing is scored again, same bytes
    assert {p: p.read_bytes() for p in out.rglob("*.parquet")} == before
    with pytest.raises(ValueError, match="another prompted judge"):
        label_main([*label_argv(items, out, tiny_judge), "--prompted-judge", "other-judge"])


def test_prompted_judge_needs_a_logprob_backend(tmp_path) -> None:
    items = write_items(tmp_path / "items.jsonl")
    argv = ["label", "--input", str(items), "--out", str(tmp_path / "o"), "--backend", "openai",
            "--base-url", "http://127.0.0.1:9", "--prompted-judge", "m"]
    with pytest.raises(ValueError, match="use --backend vllm"):
        label_main(argv)
