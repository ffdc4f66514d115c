"""Entries of a comparison grid: a dataset with its own name and settings; shared stages keep their keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.config import ConfigError, load_config
from labeling.experiment.compare import dataset_configs
from labeling.stages.transcripts import transcript_stage

REPO = Path(__file__).resolve().parents[2]
SCIQ = "{dataset: sciq, source: ../shared/data/sciq"


def grid(tmp_path: Path, *entries: str) -> list:
    cfg = load_config(REPO / "configs" / "evidence_cpu.yaml",
                      [f"output_dir={tmp_path}", f"compare.datasets=[{', '.join(entries)}]"])
    return dataset_configs(cfg)


def test_overrides_apply_to_their_entry_only(tmp_path: Path) -> None:
    plain, ablation, contrast = grid(
        tmp_path, SCIQ + "}", SCIQ + ", name: sciq_verified_only, overrides: [debate.judge_view=verified_only]}",
        SCIQ + ", name: sciq_no_passage, overrides: [debate.passage_to_debaters=false]}")
    assert [c.name for c in (plain, ablation, contrast)] == [
        "evidence_cpu/sciq", "evidence_cpu/sciq_verified_only", "evidence_cpu/sciq_no_passage"]
    assert (plain.debate.judge_view, ablation.debate.judge_view, contrast.debate.judge_view) == (
        "full", "verified_only", "full")
    assert not contrast.debate.passage_to_debaters and ablation.debate.passage_to_debaters
    # the ablation reads the same debates; the contrast run has debates of its own
    folders = [transcript_stage(c, "debate", 0).path.name for c in (plain, ablation, contrast)]
    assert folders[0] == folders[1] != folders[2]


def test_an_entry_without_overrides_is_the_shared_config(tmp_path: Path) -> None:
    [plain] = grid(tmp_path, SCIQ + "}")
    [same] = grid(tmp_path, SCIQ + ", overrides: [debate.judge_view=full]}")
    assert plain.model_dump(mode="json", exclude={"compare"}) == same.model_dump(mode="json", exclude={"compare"})


@pytest.mark.parametrize("entries, message", [
    ((SCIQ + ", overrides: [name=other]}",), "other than"),
    ((SCIQ + ", overrides: [data.dataset=boolq]}",), "other than"),
    ((SCIQ + ", overrides: [debate.judge_view]}",), "key.path=value"),
    ((SCIQ + "}", SCIQ + "}"), "distinct names"),
])
def test_bad_entries_are_clear_errors(tmp_path: Path, entries: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        grid(tmp_path, *entries)


def test_an_override_that_breaks_a_check_names_its_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="(?s)compare entry 'odd'.*judge_view"):
        grid(tmp_path, SCIQ + ", name: odd, overrides: [debate.judge_view=everything]}")
