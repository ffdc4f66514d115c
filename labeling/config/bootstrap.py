"""Bootstrapping chains (Burns et al. 2023, §4.3.1): the intermediate models between the weak and the strong one.

``training.bootstrap`` lists the links, each a model: ``{num_hidden_layers: N}`` is models.strong cut
to its first N layers; ``{path: REF}`` is another model, whole; ``{path: REF, num_hidden_layers: N}``
that model cut to N layers. Sizes are compared where they can be without loading a model: between
cuts of the same checkpoint (the weak, each link and the strong model), which must grow strictly
from models.weak through the links to models.strong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from pydantic import Field, model_validator

from labeling.config.base import StrictSection


class ModelRef(Protocol):
    """What a size check reads of a model section (``ModelConfig``)."""

    path: str
    num_hidden_layers: int | None


class BootstrapLink(StrictSection):
    """One intermediate model of a bootstrapping chain (a cut of models.strong, or a model of its own)."""

    path: str | None = Field(default=None, description="a model reference like models.*.path; null = models.strong's")
    num_hidden_layers: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _names_a_model(self) -> "BootstrapLink":
        if self.path is None and self.num_hidden_layers is None:
            raise ValueError("give num_hidden_layers (models.strong cut to that many layers) or a path")
        return self

    def resolved_path(self, strong: ModelRef) -> str:
        """The checkpoint this link is made from."""
        return self.path or strong.path

    def describe(self) -> str:
        """The link in table rows: ``16 layers`` for a cut of models.strong, else the model (and its cut)."""
        layers = f"{self.num_hidden_layers} layers"
        if self.path is None:
            return layers
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        return name if self.num_hidden_layers is None else f"{name}, {layers}"


def chain_description(links: Sequence[BootstrapLink]) -> str:
    """The whole chain in table rows, e.g. ``16 layers`` or ``12 layers -> 20 layers``."""
    return " -> ".join(link.describe() for link in links)


def _size(layers: int | None) -> float:
    return math.inf if layers is None else float(layers)


def _layers(layers: int | None) -> str:
    return "all its layers" if layers is None else f"{layers} layers"


def chain_problem(links: Sequence[BootstrapLink], weak: ModelRef, strong: ModelRef) -> str | None:
    """Why the chain does not grow from ``weak`` to ``strong`` (cuts of one checkpoint compared), or None."""
    chain: list[tuple[str, str, int | None]] = [("models.weak", weak.path, weak.num_hidden_layers)]
    chain += [(f"training.bootstrap[{i}]", link.resolved_path(strong), link.num_hidden_layers)
              for i, link in enumerate(links)]
    chain.append(("models.strong", strong.path, strong.num_hidden_layers))
    for later in range(1, len(chain)):
        for earlier in range(later):
            (key_a, path_a, n_a), (key_b, path_b, n_b) = chain[earlier], chain[later]
            if path_a != path_b or _size(n_a) < _size(n_b):
                continue
            link_key = key_b if key_b.startswith("training.") else key_a  # the link is what to change
            return (f"{link_key}.num_hidden_layers: the chain must grow from models.weak to models.strong, but "
                    f"{key_b} ({_layers(n_b)}) is not larger than {key_a} ({_layers(n_a)}) of the same model {path_a}")
    return None
