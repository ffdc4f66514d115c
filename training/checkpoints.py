"""Saving a trained classifier in full, or compact: only what training changed on top of its base model.

A head-only model differs from its base in the linear head (a few kilobytes); a LoRA model in its
adapters and head (a few megabytes). A compact checkpoint holds those, the classifier's
``config.json``, the tokenizer and ``base_model.json`` (the base checkpoint and truncation it was
trained on); loading it rebuilds the base, then puts the head back or merges the adapters, so
every caller gets an ordinary ``transformers`` classifier. A full fine-tune is always saved in full.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from training.head import classification_head
from training.lora import merged
from training.models import ModelSpec, check_local_checkpoint, load_classifier, looks_like_local_path

BASE_FILE = "base_model.json"
TRAIN_LOG = "train_log.json"  # what training did, saved beside every checkpoint
HEAD_FILE = "head.safetensors"
Trained = Literal["all", "head", "lora"]


def save_trained(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    out_dir: Path,
    *,
    base: ModelSpec,
    trained: Trained,
    compact: bool,
) -> None:
    """Write ``model`` into the (existing, empty) folder ``out_dir``: in full, or compact for head/LoRA training."""
    if trained == "all" or not compact:
        merged(model).save_pretrained(out_dir)
    elif trained == "head":
        model.config.save_pretrained(out_dir)
        head = {f"score.{name}": tensor.detach().contiguous() for name, tensor in classification_head(model).state_dict().items()}
        save_file(head, str(out_dir / HEAD_FILE))
    else:
        model.save_pretrained(out_dir)  # adapter_config.json and adapter_model.safetensors (adapters and head)
        (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model card
        model.get_base_model().config.save_pretrained(out_dir)
    if compact and trained != "all":
        record = {"path": base.path, "num_hidden_layers": base.num_hidden_layers, "trained": trained}
        (out_dir / BASE_FILE).write_text(json.dumps(record, indent=2) + "\n")
    tokenizer.save_pretrained(out_dir)


def is_compact(path: str | Path) -> bool:
    """True when ``path`` is a compact checkpoint (it names its base model)."""
    return (Path(path) / BASE_FILE).is_file()


def load_compact(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The full fp32 classifier of compact checkpoint ``path``: its base, plus the trained head or merged adapters."""
    path = Path(path)
    record = json.loads((path / BASE_FILE).read_text())
    base = ModelSpec(record["path"], record.get("num_hidden_layers"))
    if looks_like_local_path(base.path):
        try:
            check_local_checkpoint(base.path)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path} holds only what training changed; its base model is missing ({exc}): "
                                    f"restore it, or retrain with training.<role>.checkpoint: full") from None
    model, _ = load_classifier(base)
    if record["trained"] == "head":
        tensors = load_file(str(path / HEAD_FILE))
        classification_head(model).load_state_dict({k.removeprefix("score."): v for k, v in tensors.items()}, strict=True)
    elif record["trained"] == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    else:
        raise ValueError(f"{path / BASE_FILE}: unknown trained part {record['trained']!r}")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.padding_side = "right"
    return model.to(torch.float32), tokenizer


def load_trained(spec: ModelSpec) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A classifier checkpoint as ``load_classifier`` gives it; a compact one is rebuilt from its base first."""
    if looks_like_local_path(spec.path) and is_compact(Path(spec.path).expanduser()):
        if spec.num_hidden_layers is not None:
            raise ValueError(f"{spec.path} is a trained checkpoint; it cannot be truncated again")
        return load_compact(Path(spec.path).expanduser())
    return load_classifier(spec)


def checkpoint_bytes(path: str | Path) -> int:
    """Bytes of every file in checkpoint folder ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def prepare_out_dir(out_dir: Path) -> None:
    """Refuse an existing non-empty ``out_dir``; create its parent."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise FileExistsError(f"output directory already exists and is not empty: {out_dir}")
    out_dir.parent.mkdir(parents=True, exist_ok=True)


def save_atomically(out_dir: Path, train_log: dict, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill a temp dir beside ``out_dir``, add the training log, and rename it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)  # mkdtemp's 0700 would survive the rename: a shared runs/ stays readable
    try:
        write(tmp)
        (tmp / TRAIN_LOG).write_text(json.dumps(train_log, indent=2) + "\n")
        if out_dir.is_dir():  # an empty directory made by the caller
            out_dir.rmdir()
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
