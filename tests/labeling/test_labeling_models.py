"""Model references: packaged names, local folders, hub ids; conversion is idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeling.store.model_refs import ModelNotFoundError, prepare_packaged_model, resolve_model


def test_local_checkpoint_resolves_to_its_absolute_path(tiny_model_dir: Path) -> None:
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir.resolve())


def test_folder_without_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_hub_ids_pass_through_and_junk_is_rejected(tmp_path: Path) -> None:
    assert resolve_model("Qwen/Qwen2.5-7B") == "Qwen/Qwen2.5-7B"
    with pytest.raises(ModelNotFoundError, match="neither an existing folder"):
        resolve_model(str(tmp_path / "missing" / "model"))
    with pytest.raises(ModelNotFoundError, match="unknown packaged model 'nope'"):
        resolve_model("packaged:nope")


@pytest.mark.real
def test_packaged_smollm2_is_a_normal_checkpoint(smollm2_dir: Path) -> None:
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_hidden_layers"] == 30
    assert "quantization_config" not in config
    assert (smollm2_dir / "model.safetensors").stat().st_size > 200_000_000
    assert (smollm2_dir / "tokenizer.json").is_file()
    before = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    assert prepare_packaged_model("smollm2-135m-instruct") == smollm2_dir  # idempotent: nothing redone
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == before
    assert resolve_model("packaged:smollm2-135m-instruct") == str(smollm2_dir)
