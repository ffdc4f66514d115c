"""A tiny random Llama causal-LM checkpoint with a word-level tokenizer, built offline."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = ["[UNK]", "<s>", "</s>"]
WORDS = (
    "good bad the a movie film book food was is really quite very not so it this that "
    "q : answer true false yes no plot actors story service cheap long short fun"
).split()
TINY_LAYERS = 3


def build_tiny_checkpoint(directory: Path) -> Path:
    """Save a 3-layer random Llama causal LM and a whitespace word-level tokenizer (no pad token)."""
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + WORDS)}
    backend = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", bos_token="<s>", eos_token="</s>"
    )
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=TINY_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(vocab),
        max_position_embeddings=256,
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=None,
    )
    torch.manual_seed(1234)
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of the tiny random checkpoint (built once per test session)."""
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_num_layers() -> int:
    """Number of transformer layers in the tiny checkpoint."""
    return TINY_LAYERS


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests share a small machine: keep torch on one thread, restore afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


FILLER = "the a movie film book food was is really quite very it this that plot actors story".split()


def make_toy_task(n: int, seed: int) -> tuple[list[str], list[float]]:
    """Texts of filler words with one keyword at a random place: "good" -> 1.0, "bad" -> 0.0."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(3, 9))]
        positive = rng.random() < 0.5
        words.insert(rng.randint(0, len(words)), "good" if positive else "bad")
        texts.append(" ".join(words))
        labels.append(1.0 if positive else 0.0)
    return texts, labels


@pytest.fixture(scope="session")
def toy_task():
    """The keyword task generator: ``toy_task(n, seed) -> (texts, labels)``."""
    return make_toy_task
