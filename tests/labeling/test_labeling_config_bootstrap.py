"""Bootstrapping chain settings: the accepted forms, and errors that name the key of a chain that does not grow."""

from __future__ import annotations

from pathlib import Path

import pytest

from labeling.config import ConfigError, load_config

MINIMAL = """
name: t
models:
  weak: {path: a/b, num_hidden_layers: 8}
  strong: {path: a/b}
  debater: {path: a/d}
"""


def config(tmp_path: Path, *overrides: str):
    path = tmp_path / "exp.yaml"
    path.write_text(MINIMAL)
    return load_config(path, list(overrides))


def test_off_by_default_and_the_accepted_forms(tmp_path: Path) -> None:
    from labeling.config import chain_description

    cfg = config(tmp_path)
    assert cfg.training.bootstrap == [] and cfg.training.bootstrap_sources == ["none"]
    chain = config(tmp_path, "training.bootstrap=[{num_hidden_layers: 12}, {path: a/b, num_hidden_layers: 20}, "
                             "{path: other/model}]").training.bootstrap
    assert [link.resolved_path(cfg.models.strong) for link in chain] == ["a/b", "a/b", "other/model"]
    assert chain_description(chain) == "12 layers -> b, 20 layers -> model"


@pytest.mark.parametrize("overrides, key", [
    (["training.bootstrap=[{}]"], r"training\.bootstrap\.0: .*give num_hidden_layers"),
    (["training.bootstrap=[{num_hidden_layers: 0}]"], r"training\.bootstrap\.0\.num_hidden_layers"),
    (["training.bootstrap=[{num_hidden_layers: 8}]"], r"training\.bootstrap\[0\]\.num_hidden_layers: .*models\.weak"),
    (["training.bootstrap=[{num_hidden_layers: 16}, {num_hidden_layers: 12}]"],
     r"training\.bootstrap\[1\]\.num_hidden_layers: .*not larger than training\.bootstrap\[0\]"),
    (["training.bootstrap=[{num_hidden_layers: 24}]", "models.strong.num_hidden_layers=20"],
     r"training\.bootstrap\[0\]\.num_hidden_layers: .*models\.strong \(20 layers\)"),
    (["training.bootstrap=[{path: a/b}]"], r"training\.bootstrap\[0\]\.num_hidden_layers: .*models\.strong"),
    (["training.bootstrap=[{num_hidden_layers: 16}]", "training.bootstrap_sources=[consultancy]"],
     r"training\.bootstrap_sources: \['consultancy'\]"),
    (["training.bootstrap=[{num_hidden_layers: 16}]", "training.bootstrap_linkz=1"], r"training\.bootstrap_linkz: unknown"),
])
def test_bad_chains_name_their_key(tmp_path: Path, overrides: list[str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        config(tmp_path, *overrides)


def test_other_models_are_not_compared_and_an_unused_setting_is_free(tmp_path: Path) -> None:
    config(tmp_path, "training.bootstrap=[{path: tiny/model}, {num_hidden_layers: 12}]")  # another model: no size check
    config(tmp_path, "training.bootstrap_sources=[consultancy]")  # no chain, nothing to start from


def test_a_link_must_fit_its_checkpoint(tmp_path: Path, tiny_model_dir: Path, deep_tiny_model_dir: Path) -> None:
    from labeling.stages.bootstrap import check_chain_fits

    def cfg(strong: Path, chain: str):
        return config(tmp_path, f"models.weak.path={tiny_model_dir}", "models.weak.num_hidden_layers=1",
                      f"models.strong.path={strong}", f"training.bootstrap={chain}")

    check_chain_fits(cfg(tiny_model_dir, "[{num_hidden_layers: 2}]"))  # 1 < 2 < the 3 layers of the checkpoint
    with pytest.raises(ConfigError, match=r"training\.bootstrap\[0\]\.num_hidden_layers: 3 layers, .*fewer than "
                                          r"models\.strong's 3 layers"):
        check_chain_fits(cfg(tiny_model_dir, "[{num_hidden_layers: 3}]"))
    with pytest.raises(ConfigError, match=r"training\.bootstrap\[1\]\.num_hidden_layers: 4 layers, .*at most the 3"):
        check_chain_fits(cfg(deep_tiny_model_dir, f"[{{num_hidden_layers: 2}}, {{path: {tiny_model_dir}, num_hidden_layers: 4}}]"))
