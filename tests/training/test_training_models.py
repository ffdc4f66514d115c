"""load_classifier: head, pad token, layer truncation, missing checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from training.models import ModelSpec, load_classifier, looks_like_local_path


def _checkpoint_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(model_dir / "model.safetensors"))


def test_loads_a_binary_classifier_with_pad_token_on_the_right(tiny_model_dir: Path) -> None:
    model, tokenizer = load_classifier(ModelSpec(str(tiny_model_dir)))
    assert model.config.num_labels == 2
    assert model.score.out_features == 2
    # the tiny tokenizer has no pad token: eos is used, in tokenizer and config alike
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert tokenizer.padding_side == "right"
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_full_model_keeps_pretrained_trunk(tiny_model_dir: Path, tiny_num_layers: int) -> None:
    model, _ = load_classifier(ModelSpec(str(tiny_model_dir)))
    saved = _checkpoint_weights(tiny_model_dir)
    state = model.state_dict()
    assert len(model.model.layers) == tiny_num_layers == 3
    trunk_keys = [k for k in saved if k.startswith("model.")]
    assert trunk_keys
    for key in trunk_keys:
        assert torch.equal(state[key], saved[key]), key


def test_truncation_keeps_the_first_layers(tiny_model_dir: Path) -> None:
    model, _ = load_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=2))
    assert model.config.num_hidden_layers == 2
    assert len(model.model.layers) == 2
    saved = _checkpoint_weights(tiny_model_dir)
    state = model.state_dict()
    for layer in (0, 1):
        keys = [k for k in saved if k.startswith(f"model.layers.{layer}.")]
        assert keys
        for key in keys:
            assert torch.equal(state[key], saved[key]), key
    assert not any(k.startswith("model.layers.2.") for k in state)
    assert torch.equal(state["model.embed_tokens.weight"], saved["model.embed_tokens.weight"])
    assert torch.equal(state["model.norm.weight"], saved["model.norm.weight"])


def test_truncated_model_computes_differently(tiny_model_dir: Path) -> None:
    torch.manual_seed(0)
    full, tokenizer = load_classifier(ModelSpec(str(tiny_model_dir)))
    torch.manual_seed(0)
    cut, _ = load_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=1))
    batch = tokenizer(["the movie was good"], return_tensors="pt")
    with torch.no_grad():
        assert not torch.allclose(full(**batch).logits, cut(**batch).logits)


def test_too_many_layers_is_an_error(tiny_model_dir: Path, tiny_num_layers: int) -> None:
    with pytest.raises(ValueError, match=f"only {tiny_num_layers} layers"):
        load_classifier(ModelSpec(str(tiny_model_dir), num_hidden_layers=tiny_num_layers + 1))


@pytest.mark.parametrize("layers", [0, -1, 2.5, True])
def test_bad_layer_counts_are_rejected(layers: object) -> None:
    with pytest.raises(ValueError, match="num_hidden_layers"):
        ModelSpec("some/model", num_hidden_layers=layers)  # type: ignore[arg-type]


def test_missing_local_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        load_classifier(ModelSpec(str(missing)))


def test_dir_without_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_classifier(ModelSpec(str(tmp_path / "empty-model")))


def test_spec_accepts_path_objects(tiny_model_dir: Path) -> None:
    assert ModelSpec(tiny_model_dir).path == str(tiny_model_dir)  # type: ignore[arg-type]


def test_hub_ids_are_not_mistaken_for_local_paths(tmp_path: Path) -> None:
    assert not looks_like_local_path("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert looks_like_local_path(str(tmp_path / "x"))
    assert looks_like_local_path("./models/x")
    assert looks_like_local_path(".cache/models/smollm2-135m-instruct")
