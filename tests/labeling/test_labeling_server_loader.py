"""Loading judges: a stage folder, a results folder's ensemble (mean of members), bad paths; keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from labeling.serve.app import create_app
from labeling.serve.judge_loader import JudgeLoadError, load_judge
from labeling.serve.settings import (
    InsecureBindingError,
    ServerSettings,
    ensure_safe_binding,
    is_loopback,
    load_api_keys,
    read_key_file,
)
from labeling.serve.toy_judge import make_toy_judge

ITEM = {"question": "what type of energy is water", "answer": "the good answer"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """An output dir with two debate judges (debate seeds 0, 1), a floor stand-in and a manifest."""
    output = tmp_path_factory.mktemp("ensemble") / "runs"
    judges = [make_toy_judge(output, tiny_model_dir, debate_seed=k, epochs=k + 1.0) for k in (0, 1)]
    floor_src = make_toy_judge(output, tiny_model_dir, protocol="none-stand-in", epochs=1.0)
    floor = floor_src.with_name("weak-floor-" + floor_src.name.rsplit("-", 1)[1])
    floor_src.rename(floor)
    results = output / "quickstart"
    results.mkdir()
    manifest = {
        "stages": {
            "seed0": {
                "weak_floor": str(floor),
                "judges": {"debate": [str(j) for j in judges]},
            }
        }
    }
    (results / "manifest.json").write_text(json.dumps(manifest))
    return results


def probabilities(judge, items) -> list[dict]:
    with TestClient(create_app(judge, ServerSettings())) as client:
        return client.post("/v1/judge", json={"items": items}).json()["results"]


def test_an_ensemble_scores_the_mean_of_its_members(run_dir) -> None:
    ensemble = load_judge(run_dir)
    assert ensemble.protocol == "debate" and len(ensemble.members) == 2
    result = probabilities(ensemble, [ITEM])[0]
    singles = [probabilities(load_judge(m.stage_path), [ITEM])[0]["probability"] for m in ensemble.members]
    np.testing.assert_allclose(result["member_probabilities"], singles, atol=1e-6)
    assert result["probability"] == pytest.approx(np.mean(singles), abs=1e-9)
    assert singles[0] != pytest.approx(singles[1], abs=1e-6)  # two genuinely different members


def test_protocol_none_picks_the_weak_floor(run_dir) -> None:
    floor = load_judge(run_dir, protocol="none")
    assert floor.protocol == "none" and floor.members[0].name.startswith("weak-floor-")
    assert floor.debate is None


def test_a_moved_run_is_found_beside_its_results(run_dir, tmp_path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(run_dir.parent, moved)
    shutil.rmtree(run_dir.parent / "artifacts")
    try:
        judge = load_judge(moved / run_dir.name)
        assert all(str(m.stage_path).startswith(str(moved)) for m in judge.members)
    finally:
        shutil.copytree(moved / "artifacts", run_dir.parent / "artifacts")


def test_bad_paths_and_choices_are_clear_errors(run_dir, tmp_path) -> None:
    with pytest.raises(JudgeLoadError, match="neither a judge stage folder"):
        load_judge(tmp_path)
    with pytest.raises(JudgeLoadError, match="no judges for protocol 'consultancy'"):
        load_judge(run_dir, protocol="consultancy")
    with pytest.raises(JudgeLoadError, match="training seed 3"):
        load_judge(run_dir, training_seed=3)
    ceiling = tmp_path / "ceiling-0123abcd"
    ceiling.mkdir()
    (ceiling / "stage.json").write_text("{}")
    with pytest.raises(JudgeLoadError, match="not a judge stage folder"):
        load_judge(ceiling)


def test_binding_beyond_loopback_needs_keys() -> None:
    for host in ("127.0.0.1", "127.0.0.5", "::1", "localhost"):
        assert is_loopback(host)
        ensure_safe_binding(host, frozenset())
    for host in ("0.0.0.0", "::", "10.1.2.3", "example.org"):
        assert not is_loopback(host)
        with pytest.raises(InsecureBindingError, match="without API keys"):
            ensure_safe_binding(host, frozenset())
        ensure_safe_binding(host, frozenset({"k" * 20}))


def test_cli_refuses_a_public_host_without_keys_before_loading(monkeypatch, tmp_path, capsys) -> None:
    from labeling.serve.commands import main

    monkeypatch.delenv("W2S_JUDGE_API_KEYS", raising=False)
    assert main(["serve-judge", "--judge", str(tmp_path / "missing"), "--host", "0.0.0.0"]) == 2
    assert "refusing to listen on '0.0.0.0'" in capsys.readouterr().err


def test_keys_come_from_the_env_and_a_private_file(tmp_path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("# judge keys\nfile-key-0123456789abcdef\n\n")
    key_file.chmod(0o600)
    keys = load_api_keys(key_file, {"W2S_JUDGE_API_KEYS": "env-key-0123456789abcdef, other-key-0123456789ab"})
    assert keys == {"file-key-0123456789abcdef", "env-key-0123456789abcdef", "other-key-0123456789ab"}
    key_file.chmod(0o644)
    with pytest.raises(ValueError, match="readable by other users"):
        read_key_file(key_file)
    with pytest.raises(ValueError, match="at least 16"):
        load_api_keys(None, {"W2S_JUDGE_API_KEYS": "short"})


def test_a_judge_reads_its_inputs_in_the_layout_it_was_trained_on(run_dir, tmp_path) -> None:
    from labeling.data.judge_input import RESTATED_HEADING
    from labeling.label.judge_labels import read_judge
    from labeling.stages.judge_folder import read_judge_folder

    member = load_judge(run_dir).members[0].stage_path
    both_ends = tmp_path / member.name
    shutil.copytree(member, both_ends)
    stage = json.loads((both_ends / "stage.json").read_text())
    (both_ends / "stage.json").write_text(json.dumps({**stage, "judge_input": "item_both_ends"}))
    assert read_judge_folder(member).judge_input == "item_first"  # older folders: the first layout
    assert read_judge_folder(both_ends).judge_input == read_judge(both_ends)["judge_input"] == "item_both_ends"
    judge = load_judge(both_ends)
    text = judge.format(ITEM["question"], ITEM["answer"], "Debater A: yes")
    assert text.endswith(f"{RESTATED_HEADING}\n{judge.format(ITEM['question'], ITEM['answer'])}")
    assert judge.describe()["judge_input"] == "item_both_ends"
    assert load_judge(member).format(ITEM["question"], ITEM["answer"], "Debater A: yes").endswith("Debater A: yes")
