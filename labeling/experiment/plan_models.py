"""Model sizes for ``w2s plan``: parameter counts from a model's architecture numbers, without loading it.

A local or packaged checkpoint is sized from its own ``config.json`` (packaged models only when
``w2s models prepare`` already converted them; otherwise from the table below). A hub id is sized
from ``KNOWN_ARCHITECTURES``, the numbers of each model's published ``config.json`` on the Hugging
Face hub (hidden size, layers, MLP width, vocabulary, heads, tied embeddings), or from its
``config.json`` in the local Hugging Face cache when it is there. Totals are always computed from
those numbers (``parameter_count``), never written down, so ``num_hidden_layers`` cuts them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from labeling.config import ModelConfig
from labeling.store.model_refs import ModelNotFoundError, is_packaged, resolve_model


@dataclass(frozen=True)
class Architecture:
    """The numbers of a decoder-only transformer (Llama / Qwen2 / Gemma 3 style) that size it."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    tied_embeddings: bool
    qkv_bias: bool = False

    @property
    def kv_dim(self) -> int:
        """Width of the key (= value) projection: kv heads x head dim."""
        return self.kv_heads * self.head_dim


def _arch(hidden: int, layers: int, intermediate: int, vocab: int, heads: int, kv_heads: int, tied: bool,
          qkv_bias: bool) -> Architecture:
    return Architecture(hidden, layers, intermediate, vocab, heads, kv_heads, hidden // heads, tied, qkv_bias)


# From each model's config.json on the Hugging Face hub (an -Instruct model has its base model's numbers):
# hidden_size, num_hidden_layers, intermediate_size, vocab_size, num_attention_heads, num_key_value_heads,
# tie_word_embeddings; Qwen2 models have a bias on the q, k and v projections.
_QWEN25 = {
    "0.5B": _arch(896, 24, 4864, 151936, 14, 2, True, True),
    "1.5B": _arch(1536, 28, 8960, 151936, 12, 2, True, True),
    "3B": _arch(2048, 36, 11008, 151936, 16, 2, True, True),
    "7B": _arch(3584, 28, 18944, 152064, 28, 4, False, True),
    "14B": _arch(5120, 48, 13824, 152064, 40, 8, False, True),
    "32B": _arch(5120, 64, 27648, 152064, 40, 8, False, True),
}
SMOLLM2_135M = _arch(576, 30, 1536, 49152, 9, 3, True, False)
KNOWN_ARCHITECTURES: dict[str, Architecture] = {
    **{f"Qwen/Qwen2.5-{size}{suffix}": arch for size, arch in _QWEN25.items() for suffix in ("", "-Instruct")},
    "HuggingFaceTB/SmolLM2-135M": SMOLLM2_135M,
    "HuggingFaceTB/SmolLM2-135M-Instruct": SMOLLM2_135M,
    "packaged:smollm2-135m-instruct": SMOLLM2_135M,  # before `w2s models prepare` converted it
}


def architecture_from_config(config: dict) -> Architecture:
    """The architecture numbers of a ``config.json`` (a multimodal config's text part when it has one)."""
    text = config.get("text_config") or config
    heads = int(text["num_attention_heads"])
    hidden = int(text["hidden_size"])
    return Architecture(
        hidden=hidden,
        layers=int(text["num_hidden_layers"]),
        intermediate=int(text["intermediate_size"]),
        vocab=int(text["vocab_size"]),
        heads=heads,
        kv_heads=int(text.get("num_key_value_heads") or heads),
        head_dim=int(text.get("head_dim") or hidden // heads),
        tied_embeddings=bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings", True))),
        qkv_bias=bool(text.get("attention_bias", text.get("model_type") == "qwen2")),
    )


def transformers_config(arch: Architecture, num_labels: int = 2):
    """A transformers config of ``arch`` as a ``num_labels`` classifier (Qwen2 with q/k/v biases, else Llama),
    to build it with random weights (the GPU/CPU memory checks and their tests); transformers loads only here."""
    from transformers import LlamaConfig, Qwen2Config

    config_class = Qwen2Config if arch.qkv_bias else LlamaConfig
    return config_class(hidden_size=arch.hidden, num_hidden_layers=arch.layers, intermediate_size=arch.intermediate,
                        vocab_size=arch.vocab, num_attention_heads=arch.heads, num_key_value_heads=arch.kv_heads,
                        tie_word_embeddings=arch.tied_embeddings, num_labels=num_labels, pad_token_id=0)

def _config_json(ref: str) -> Path | None:
    """The ``config.json`` of a local or prepared packaged model, or of a hub model in the local HF cache."""
    try:
        resolved = resolve_model(ref, prepare=False)
    except ModelNotFoundError:
        return None
    if Path(resolved).is_dir():
        return Path(resolved) / "config.json"
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(resolved, "config.json")
    except Exception:  # noqa: BLE001 - an unreadable cache only means "not sized from it"
        return None
    return Path(found) if isinstance(found, str) else None


def architecture_of(model: ModelConfig) -> Architecture | None:
    """The architecture a model section trains or serves, cut to its ``num_hidden_layers``; None when unknown."""
    path = _config_json(model.path)
    arch = KNOWN_ARCHITECTURES.get(model.path)
    if path is not None and path.is_file():
        try:
            arch = architecture_from_config(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):  # a config.json the plan cannot read: size it unknown
            arch = None
    if arch is None:
        return None
    if model.num_hidden_layers is not None:
        arch = replace(arch, layers=min(arch.layers, model.num_hidden_layers))
    return arch


def layer_parameters(arch: Architecture) -> int:
    """One decoder layer: q, k, v, o projections (+ q/k/v biases), the gated MLP's three matrices, two norms."""
    attention = arch.hidden * (arch.heads * arch.head_dim) * 2 + arch.hidden * arch.kv_dim * 2
    if arch.qkv_bias:
        attention += arch.heads * arch.head_dim + 2 * arch.kv_dim
    mlp = 3 * arch.hidden * arch.intermediate
    return attention + mlp + 2 * arch.hidden


def parameter_count(arch: Architecture, *, head: str = "classifier", num_labels: int = 2) -> int:
    """Parameters of the model: embeddings, layers, final norm, and its head.

    ``head="classifier"`` is what training builds (a sequence classifier: a linear ``score`` of
    ``num_labels`` outputs, no language-model head); ``head="lm"`` is the causal LM that generates
    (its output matrix shared with the embeddings when they are tied).
    """
    embeddings = arch.vocab * arch.hidden
    body = embeddings + arch.layers * layer_parameters(arch) + arch.hidden
    if head == "classifier":
        return body + arch.hidden * num_labels
    return body + (0 if arch.tied_embeddings else embeddings)


def model_label(model: ModelConfig) -> str:
    """A model in tables: its name, and its cut (``SmolLM2-135M-Instruct[:8]``)."""
    ref = model.path[len("packaged:"):] if is_packaged(model.path) else model.path
    name = ref.rstrip("/").rsplit("/", 1)[-1]
    return name if model.num_hidden_layers is None else f"{name}[:{model.num_hidden_layers}]"


def linear_shapes(arch: Architecture) -> dict[str, tuple[int, int]]:
    """(in, out) features of each linear layer of one decoder layer, by module name."""
    q, kv, h, i = arch.heads * arch.head_dim, arch.kv_dim, arch.hidden, arch.intermediate
    return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
            "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}


def lora_parameters(arch: Architecture, r: int, target_modules: tuple[str, ...], num_labels: int = 2) -> int:
    """Trainable parameters of LoRA rank ``r`` on ``target_modules`` (``all-linear``: every one) plus the head.

    Each adapted ``in x out`` layer adds ``r x (in + out)``; the classification head trains in full.
    """
    shapes = linear_shapes(arch)
    names = shapes if tuple(target_modules) == ("all-linear",) else [t for t in target_modules if t in shapes]
    per_layer = sum(r * sum(shapes[name]) for name in names)
    return arch.layers * per_layer + arch.hidden * num_labels
