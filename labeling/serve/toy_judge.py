"""A small judge stage folder laid out like the pipeline's, for tests, demos and the benchmark.

Trains a classifier on a handful of made-up SciQ-style items with toy transcripts and writes
``judge-<protocol>-s<seed>-<hash>/`` (``model/``, ``stage.json``, ``COMPLETE``) next to the
transcript stage's ``stage.json`` it refers to, so the server's loader sees a real layout.
"""

from __future__ import annotations

from pathlib import Path

from training import ModelSpec, TrainConfig, train_classifier

from labeling.store import stage_dir
from labeling.data.registry import item_text
from labeling.data.judge_input import judge_text

TOY_ITEMS = [
    ("what type of energy is water", "the good answer", 1),
    ("what are cells called by the book", "not so long", 0),
    ("which type of food is cheap", "the good food", 1),
    ("what of the story is fun", "the bad plot", 0),
    ("what is the energy of water", "really quite good", 1),
    ("which cells are called short", "very bad", 0),
    ("what type of movie is long", "a good film", 1),
    ("what is the plot of the book", "not the story", 0),
]
TOY_TRANSCRIPT = "Debater A (arguing the answer is correct): the answer is correct and true."


def toy_training_texts(dataset: str = "sciq") -> tuple[list[str], list[float]]:
    """Judge inputs (item text + transcript, via the shared formatters) and gold labels."""
    texts, labels = [], []
    for question, answer, label in TOY_ITEMS:
        for transcript in ("", TOY_TRANSCRIPT):
            texts.append(judge_text(item_text(dataset, question, answer), transcript))
            labels.append(float(label))
    return texts, labels


def make_toy_judge(
    output_dir: Path,
    base_model: Path,
    *,
    protocol: str = "debate",
    debate_seed: int = 0,
    train_seed: int = 0,
    dataset: str = "sciq",
    max_length: int = 64,
    epochs: float = 1.0,
) -> Path:
    """Train a toy judge from ``base_model``; returns its stage folder under ``output_dir/artifacts``."""
    data = {"dataset": dataset, "source": "toy", "weak_train": len(TOY_ITEMS) * 2}
    transcripts = stage_dir(
        output_dir,
        f"transcripts-{protocol}-s{debate_seed}",
        {
            "data": data,
            "protocol": protocol,
            "seed": debate_seed,
            "debater": {"path": "scripted", "num_hidden_layers": None},
            "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 32},
            "word_limit": 40,
            "prompt_version": "v1",
        },
    )
    transcripts.begin()
    transcripts.finish()
    train = {"epochs": epochs, "lr": 1e-3, "batch_size": 8, "max_length": max_length, "loss": "xent"}
    semantic = {
        "data": data,
        "transcripts": transcripts.path.name,
        "model": {"path": str(base_model), "num_hidden_layers": None},
        "train": train,
        "seed": train_seed,
        "dtype": "float32",
    }
    stage = stage_dir(output_dir, f"judge-{protocol}-s{debate_seed}", semantic)
    stage.begin()
    texts, labels = toy_training_texts(dataset)
    cfg = TrainConfig(epochs=epochs, lr=1e-3, batch_size=8, max_length=max_length, seed=train_seed, bf16=False)
    train_classifier(ModelSpec(str(base_model)), texts, labels, cfg, stage.path / "model", desc="toy judge")
    stage.finish({"train_items": len(texts)})
    return stage.path
