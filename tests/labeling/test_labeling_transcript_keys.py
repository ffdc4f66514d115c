"""Transcript stage keys: settings added later are keyed only away from their default; passages can be withheld."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labeling.config import load_config
from labeling.stages.transcripts import debate_items, transcript_stage

REPO = Path(__file__).resolve().parents[2]


def test_withholding_the_passage_blanks_it_for_the_debaters_only() -> None:
    splits = {"test": pd.DataFrame({"id": ["a", "b"], "question": ["q1", "q2"], "answer": ["x", "y"],
                                    "label": [1, 0], "evidence": ["passage one", "passage two"]})}
    with_passage = debate_items(splits)
    without = debate_items(splits, with_passage=False)
    assert with_passage["evidence"].tolist() == ["passage one", "passage two"]
    assert without["evidence"].tolist() == ["", ""] and "label" not in without
    assert splits["test"]["evidence"].tolist() == ["passage one", "passage two"]  # the split itself is untouched


def test_new_debate_settings_change_the_folder_only_when_set(tmp_path: Path) -> None:
    def folder(*overrides: str) -> str:
        cfg = load_config(REPO / "configs" / "evidence_cpu.yaml",
                          [f"output_dir={tmp_path}", "debate.quote_pick=false", *overrides])
        return transcript_stage(cfg, "debate", 0).path.name

    default = folder()
    assert folder("debate.passage_to_debaters=true", "debate.quote_prefill=false", "debate.quote_pick=false") == default
    assert folder("debate.passage_to_debaters=false") != default
    assert folder("debate.quote_prefill=true") != default
    assert folder("debate.quote_pick=true") not in (default, folder("debate.quote_prefill=true"))
    assert folder("debate.judge_input=item_both_ends") == default  # a judge setting: the debates are the same
    # the config sets 32-token KV blocks; unset, the key is absent (folders from before the setting keep their hash)
    unset = load_config(REPO / "configs" / "evidence_cpu.yaml",
                        [f"output_dir={tmp_path}", "debate.quote_pick=false", "debate.engine.block_size=null"])
    assert "block_size" not in transcript_stage(unset, "debate", 0).semantic
    assert transcript_stage(unset, "debate", 0).path.name != default  # bf16 turns change with it (see the README)
    assert folder("debate.engine.block_size=64") not in (default, transcript_stage(unset, "debate", 0).path.name)


def test_quote_pick_and_quote_prefill_are_exclusive(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="quote_pick and quote_prefill"):
        load_config(REPO / "configs" / "evidence_cpu.yaml",
                    [f"output_dir={tmp_path}", "debate.quote_pick=true", "debate.quote_prefill=true"])
