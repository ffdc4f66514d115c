"""Tokenising texts once and padding them into batches (dynamic padding, right side)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase


def tokenize_texts(
    tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int
) -> list[list[int]]:
    """Token ids of each text (special tokens added, truncated to ``max_length``), unpadded.

    Raises ValueError for a text that yields no tokens, since a classifier cannot pool it.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    ids = [list(seq) for seq in encoded["input_ids"]]
    for i, seq in enumerate(ids):
        if not seq:
            raise ValueError(f"text {i} ({texts[i]!r:.60}) tokenizes to zero tokens")
    return ids


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_token_id: int, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    """Right-pad ``sequences`` to the longest one: ``input_ids`` and ``attention_mask`` tensors."""
    if not sequences:
        raise ValueError("cannot pad an empty batch")
    width = max(len(seq) for seq in sequences)
    input_ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention_mask[row, : len(seq)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention_mask.to(device)}
